"""PySpark local-mode tests of the tsreplay data source (run by scripts/spark_test.sh).

Spark runs as local[2,2]: two task threads, and each task may fail once and be retried. The
rows must equal `tsreplay run` over the same files in one process; a task that fails once
must not change them; the same split counted twice or a split missing must be refused.
The data is ../shared/data: without it the tests skip, unless CI=true, where they fail.
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
RULES = os.path.abspath(os.path.join(ROOT, "..", "shared", "security_content", "detections",
                                     "endpoint"))
BIN = os.environ.get("TSREPLAY_BIN", os.path.join(ROOT, "target", "release", "tsreplay"))

if not os.path.isdir(DATA) or not os.path.isdir(RULES):
    if os.environ.get("CI") == "true":
        sys.exit("CI=true but ../shared/data or ../shared/security_content is missing")
    print("skipping: ../shared is not beside the checkout")
    sys.exit(0)

from pyspark.sql import SparkSession, functions as F  # noqa: E402

import tsreplay_spark  # noqa: E402


def local_rows(*extra):
    done = subprocess.run([BIN, "run", DATA, "--format", "csv", "-q", *extra],
                          capture_output=True, check=False)
    assert done.returncode in (0, 2), done.stderr
    return done.stdout.decode()


class SparkContract(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tsreplay-spark-")
        cls.spark = (SparkSession.builder.master("local[2,2]")
                     .config("spark.driver.host", "127.0.0.1")
                     .config("spark.driver.bindAddress", "127.0.0.1")
                     .config("spark.ui.enabled", "false")
                     .config("spark.ui.showConsoleProgress", "false")
                     .config("spark.sql.shuffle.partitions", "4")
                     .getOrCreate())
        cls.spark.sparkContext.setLogLevel("FATAL")
        tsreplay_spark.register(cls.spark)

    def flaky(self, name):
        """A binary that fails the first `partial --split 1` it runs, and the file that says
        it did: Spark must retry that task."""
        mark = os.path.join(self.tmp, name + ".failed-once")
        path = os.path.join(self.tmp, name + ".sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    'case " $* " in *" partial "*" --split 1 "*)\n'
                    f'  if [ ! -e "{mark}" ]; then touch "{mark}"; '
                    'echo "injected failure" >&2; exit 1; fi;;\nesac\n'
                    f'exec "{BIN}" "$@"\n')
        os.chmod(path, 0o755)
        return path, mark

    @classmethod
    def tearDownClass(cls):
        cls.spark.stop()

    def read(self, binary=BIN, **options):
        r = self.spark.read.format("tsreplay").option("paths", DATA)
        r = r.option("binary", binary).option("splitSize", "192KiB")
        for k, v in options.items():
            r = r.option(k, v)
        return r.load()

    def test_catalog_rows_equal_the_local_run_despite_a_failed_task(self):
        flaky, mark = self.flaky("catalog")
        df = self.read(binary=flaky, rules=RULES)
        self.assertGreater(df.rdd.getNumPartitions(), 20)
        got = tsreplay_spark.finish(tsreplay_spark.merge(df), binary=BIN)
        self.assertTrue(os.path.exists(mark), "the injected failure ran, and was retried")
        want = local_rows("--rules", RULES)
        self.assertGreater(len(want.splitlines()), 100)
        self.assertEqual(got, want)

    def test_default_rule_through_detect_warns_of_inputs_not_read(self):
        # ../shared/data holds two Markdown files and a Winlogbeat JSON document.
        with self.assertWarnsRegex(UserWarning, r"not read: .*PROVENANCE\.md"):
            got = tsreplay_spark.detect(self.spark, [DATA], binary=BIN, splitSize="1MiB")
        self.assertEqual(got, local_rows())

    def test_no_input_and_a_mistyped_rules_path_are_errors_that_say_why(self):
        empty = os.path.join(self.tmp, "empty-folder")
        os.makedirs(empty, exist_ok=True)
        with self.assertRaisesRegex(Exception, "no split: the paths hold no file"):
            tsreplay_spark.detect(self.spark, [empty], binary=BIN)
        with self.assertRaisesRegex(Exception, "wrote nothing: .*cannot read rule"):
            tsreplay_spark.detect(self.spark, [DATA], binary=BIN, rules=RULES + "-typo")

    def test_a_split_counted_twice_is_refused(self):
        df = self.read()
        with self.assertRaisesRegex(tsreplay_spark.TsreplayError, "both partials cover split"):
            tsreplay_spark.finish(tsreplay_spark.merge(df.union(df)), binary=BIN)

    def test_a_missing_split_is_named(self):
        df = self.read()
        kept = df.where(F.col("meta").isNull() | ~F.col("meta").contains('"covered":[0]'))
        with self.assertRaisesRegex(tsreplay_spark.TsreplayError, "missing: split 0\\b"):
            tsreplay_spark.finish(tsreplay_spark.merge(kept), binary=BIN)


if __name__ == "__main__":
    unittest.main(verbosity=2)
