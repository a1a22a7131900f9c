"""tsreplay on Spark: each split of a tsreplay manifest is a Spark partition.

The data source ``tsreplay`` (Spark 4's Python Data Source API) plans the splits on the
driver with ``tsreplay splits`` and runs ``tsreplay partial`` for one split in each task,
returning the partial group rows as Arrow batches. ``merge`` is Spark's own aggregation of
those rows (sum, min, max, and a list of the states that only tsreplay can merge), and
``finish`` hands the aggregated rows to ``tsreplay finish``, which merges the listed states,
checks that every split was counted once, and prints Splunk's rows.

This module wraps the ``tsreplay`` binary: every executor needs it (``binary`` option, the
``TSREPLAY_BIN`` environment variable, or ``tsreplay`` on the PATH), and must see the data
and rule files under the same paths as the driver.
"""

import json
import os
import shutil
import subprocess
import tempfile
import warnings

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

__all__ = ["TsreplayDataSource", "register", "merge", "finish", "detect", "SCHEMA"]

#: The columns of a partial (see the README's "Partial files" section).
SCHEMA = (
    "rule int, key binary, count long, first_time long, last_time long, "
    "state binary, meta string"
)

#: Options passed through to ``tsreplay partial``, with their flags.
#: Spark hands options over with their names in lower case.
_RULE_OPTIONS = {"rule": "--rule", "rules": "--rules", "macros": "--macros",
                 "profile": "--profile", "threads": "-j", "maxgroups": "--max-groups"}


class TsreplayError(RuntimeError):
    """A tsreplay command failed; the message holds its stderr."""


def _binary(options):
    found = options.get("binary") or os.environ.get("TSREPLAY_BIN") or shutil.which("tsreplay")
    if not found:
        raise TsreplayError(
            "no tsreplay binary: give the `binary` option, set TSREPLAY_BIN, or put tsreplay "
            "on the PATH of the driver and every executor")
    if not (os.path.isfile(found) and os.access(found, os.X_OK)):
        raise TsreplayError(f"the tsreplay binary {found!r} is not an executable file")
    return found


def _run(cmd, allowed=(0,)):
    done = subprocess.run(cmd, capture_output=True)
    if done.returncode not in allowed:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise TsreplayError(f"{' '.join(cmd[1:3])} exited {done.returncode}: {err}")
    return done


class SplitPartition(InputPartition):
    """One split of the manifest, by its index."""


class TsreplayReader(DataSourceReader):
    """Plans the splits once, on the driver; reads one split per task."""

    def __init__(self, options):
        self.options = {k.lower(): v for k, v in options.items()}
        paths = self.options.get("paths") or self.options.get("path")
        if not paths:
            raise TsreplayError("give the log paths: .load(path) or .option('paths', 'a,b')")
        size = self.options.get("splitsize", "256MiB")
        cmd = [_binary(self.options), "splits", "--size", size] + paths.split(",")
        if "sourcetype" in self.options:
            cmd += ["--sourcetype", self.options["sourcetype"]]
        # Exit 2 names inputs that cannot be read; the manifest lists them and `finish`
        # reports them again.
        done = _run(cmd, allowed=(0, 2))
        if not done.stdout:
            err = done.stderr.decode("utf-8", "replace").strip()
            raise TsreplayError(f"splits made no manifest: {err}")
        self.manifest = done.stdout.decode("utf-8")

    def partitions(self):
        count = len(json.loads(self.manifest)["splits"])
        return [SplitPartition(i) for i in range(count)]

    def read(self, partition):
        import pyarrow as pa

        if partition is None:  # Spark's call for a plan with no partitions.
            return
        with tempfile.TemporaryDirectory(prefix="tsreplay-") as tmp:
            manifest = os.path.join(tmp, "manifest.json")
            with open(manifest, "w", encoding="utf-8") as f:
                f.write(self.manifest)
            out = os.path.join(tmp, "part.arrow")
            cmd = [_binary(self.options), "partial", manifest, "--split", str(partition.value),
                   "-q", "-o", out]
            for name, flag in _RULE_OPTIONS.items():
                if name in self.options:
                    cmd += [flag, self.options[name]]
            done = _run(cmd, allowed=(0, 2))
            if not os.path.exists(out):
                err = done.stderr.decode("utf-8", "replace").strip()
                raise TsreplayError(f"partial of split {partition.value} wrote nothing: {err}")
            reader = pa.ipc.open_file(out)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)


class TsreplayDataSource(DataSource):
    """``spark.read.format("tsreplay")``: partial group rows, one partition per split.

    Options: ``paths`` (or ``.load(path)``; comma-separated), ``splitSize`` (``256MiB``),
    ``rule`` or ``rules``, ``macros``, ``profile``, ``sourcetype``, ``threads`` (per task),
    ``maxGroups``, ``binary``.
    """

    @classmethod
    def name(cls):
        return "tsreplay"

    def schema(self):
        return SCHEMA

    def reader(self, schema):
        return TsreplayReader(self.options)


def register(spark):
    """Registers the ``tsreplay`` data source with a session."""
    spark.dataSource.register(TsreplayDataSource)


def merge(df):
    """Spark's aggregation of partial rows: one row per (rule, key) with the count summed,
    the times widened and the states listed, plus one row listing every split's stamp."""
    from pyspark.sql import functions as F

    return df.groupBy("rule", "key").agg(
        F.sum("count").alias("count"),
        F.min("first_time").alias("first_time"),
        F.max("last_time").alias("last_time"),
        F.collect_list("state").alias("state"),
        F.collect_list("meta").alias("meta"),
    )


def finish(merged, fmt="csv", tz="UTC", binary=None):
    """Collects the aggregated rows to the driver and returns ``tsreplay finish``'s output.
    Fails, naming them, when splits are missing or were counted twice."""
    import pyarrow as pa

    table = merged.toArrow()
    with tempfile.TemporaryDirectory(prefix="tsreplay-") as tmp:
        path = os.path.join(tmp, "merged.arrow")
        with pa.OSFile(path, "wb") as sink:
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        cmd = [_binary({"binary": binary}), "finish", path, "--format", fmt, "--tz", tz, "-q"]
        done = _run(cmd, allowed=(0, 2))
    # Exit 2 either names inputs not read (the rows stand) or is an error (no rows).
    lines = done.stderr.decode("utf-8", "replace").splitlines()
    errors = [line for line in lines if line.startswith("tsreplay: ")]
    if errors:
        raise TsreplayError("finish: " + " ".join(errors))
    for line in lines:
        if line.strip():
            warnings.warn(f"tsreplay: {line.strip()}", stacklevel=2)
    return done.stdout.decode("utf-8")


def detect(spark, paths, fmt="csv", tz="UTC", **options):
    """Runs the rules over ``paths`` on Spark and returns the rows as ``tsreplay run`` prints
    them. ``options`` are the data source's options (``rules=...``, ``splitSize=...``)."""
    register(spark)
    reader = spark.read.format("tsreplay").option("paths", ",".join(paths))
    for key, value in options.items():
        reader = reader.option(key, str(value))
    return finish(merge(reader.load()), fmt=fmt, tz=tz, binary=options.get("binary"))
