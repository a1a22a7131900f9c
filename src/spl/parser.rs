//! Parses tokens into the syntax tree of `ast`.
//!
//! Owns the grammar of the subset and Splunk's search-language precedence: parentheses, then
//! `NOT`, then `OR`, then `AND` (explicit or implied by juxtaposition), operators in upper case
//! only. Every command name it does not know is refused here, by name and position; it must
//! not guess at the meaning of anything it cannot parse.

use super::ast::*;
use super::error::{CompileError, CompileErrorKind};
use super::eval_syntax;
use super::lexer::{tokenize, Tok, Token};

/// Parses an expanded search.
pub fn parse_search(text: &str) -> Result<Pipeline, CompileError> {
    let tokens = tokenize(text)?;
    let segments = split_commands(&tokens);
    let mut segs = segments.into_iter();
    let first = segs.next().unwrap_or(&[]);
    let tstats = {
        let mut p = Parser::new(first, text);
        if !p.eat_keyword_ci("tstats") {
            let span = first.first().map_or(Span::new(0, text.len()), |t| t.span);
            return Err(CompileError::at(CompileErrorKind::NotTstats, span, text));
        }
        p.tstats()?
    };
    let mut commands = Vec::new();
    for seg in segs {
        commands.push(Parser::new(seg, text).command()?);
    }
    Ok(Pipeline { tstats, commands })
}

/// A boolean option value as Splunk reads them: `true`, `t`, `1`, `yes` and their opposites,
/// in any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" => Some(true),
        "false" | "f" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Splits the token list at top-level pipes. A leading pipe is dropped.
fn split_commands(tokens: &[Token]) -> Vec<&[Token]> {
    let body = match tokens.first() {
        Some(Token { tok: Tok::Pipe, .. }) => &tokens[1..],
        _ => tokens,
    };
    body.split(|t| t.tok == Tok::Pipe).collect()
}

/// `key=value` pairs and `rename` pairs: two spanned words.
type Pairs = Vec<(Spanned<String>, Spanned<String>)>;

/// The BY fields and the `span=` option among them.
type ByList = (Vec<Spanned<String>>, Option<Spanned<String>>);

/// Splunk's default row limit for `sort`.
const SORT_DEFAULT_LIMIT: usize = 10_000;

/// The row count `head` keeps by default.
const HEAD_DEFAULT: usize = 10;

/// How deeply parentheses and `NOT`s may nest.
const MAX_NESTING: usize = 128;

struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    text: &'t str,
    depth: usize,
}

impl<'t> Parser<'t> {
    fn new(toks: &'t [Token], text: &'t str) -> Parser<'t> {
        Parser { toks, pos: 0, text, depth: 0 }
    }

    fn peek(&self) -> Option<&'t Token> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, ahead: usize) -> Option<&'t Token> {
        self.toks.get(self.pos + ahead)
    }

    fn bump(&mut self) -> Option<&'t Token> {
        let t = self.toks.get(self.pos);
        self.pos += usize::from(t.is_some());
        t
    }

    fn end_span(&self) -> Span {
        let end = self.toks.last().map_or(self.text.len(), |t| t.span.end);
        Span::new(end, end)
    }

    fn error(&self, expected: &'static str) -> CompileError {
        let (found, span) = match self.peek() {
            Some(t) => (t.describe(), t.span),
            None => (String::new(), self.end_span()),
        };
        CompileError::at(CompileErrorKind::Syntax { expected, found }, span, self.text)
    }

    fn refuse(&self, kind: CompileErrorKind, span: Span) -> CompileError {
        CompileError::at(kind, span, self.text)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let hit = self.peek().is_some_and(|t| &t.tok == tok);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, tok: &Tok, expected: &'static str) -> Result<Span, CompileError> {
        match self.peek() {
            Some(t) if &t.tok == tok => {
                self.pos += 1;
                Ok(t.span)
            }
            _ => Err(self.error(expected)),
        }
    }

    fn eat_keyword_ci(&mut self, kw: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is_keyword_ci(kw));
        self.pos += usize::from(hit);
        hit
    }

    /// Any word (quoted or not).
    fn word(&mut self, expected: &'static str) -> Result<Spanned<String>, CompileError> {
        match self.peek() {
            Some(Token { tok: Tok::Word { text, .. }, span }) => {
                self.pos += 1;
                Ok(Spanned { node: text.clone(), span: *span })
            }
            _ => Err(self.error(expected)),
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn expect_end(&self) -> Result<(), CompileError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error("the end of the command"))
        }
    }

    fn tstats(&mut self) -> Result<Tstats, CompileError> {
        let start = self.toks.first().map_or(0, |t| t.span.start);
        let options = self.tstats_options()?;
        let aggregates = self.aggregates()?;
        if !self.eat_keyword_ci("from") {
            return Err(self.error("`FROM datamodel=...`"));
        }
        let datamodel = self.datamodel()?;
        let filter =
            if self.eat_keyword_ci("where") { Some(self.expr_until(&["by"])?) } else { None };
        let (by, span_opt) =
            if self.eat_keyword_ci("by") { self.by_fields()? } else { (Vec::new(), None) };
        self.expect_end()?;
        let span = Span::new(start, self.end_span().end);
        Ok(Tstats { options, aggregates, datamodel, filter, by, span: span_opt, span_all: span })
    }

    fn tstats_options(&mut self) -> Result<Pairs, CompileError> {
        let mut options = Vec::new();
        while self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq)
            && self.peek().and_then(Token::bare_word).is_some()
        {
            let key = self.word("an option name")?;
            self.pos += 1;
            let value = self.word("an option value")?;
            options.push((key, value));
        }
        Ok(options)
    }

    fn aggregates(&mut self) -> Result<Vec<Aggregate>, CompileError> {
        let mut aggs = Vec::new();
        while let Some(t) = self.peek() {
            if t.is_keyword_ci("from") {
                break;
            }
            let func = self.word("an aggregate such as `count`")?;
            let arg = if self.eat(&Tok::LParen) {
                let arg = self.word("an aggregate argument")?;
                self.expect(&Tok::RParen, "`)`")?;
                Some(arg)
            } else {
                None
            };
            let alias = if self.eat_keyword_ci("as") { Some(self.word("a name")?) } else { None };
            aggs.push(Aggregate { func, arg, alias });
            self.eat(&Tok::Comma);
        }
        Ok(aggs)
    }

    fn datamodel(&mut self) -> Result<Spanned<String>, CompileError> {
        let key = self.word("`datamodel=`")?;
        if !key.node.eq_ignore_ascii_case("datamodel") {
            let kind = CompileErrorKind::UnsupportedOption { name: key.node.clone() };
            return Err(self.refuse(kind, key.span));
        }
        self.expect(&Tok::Eq, "`=` after datamodel")?;
        self.word("a data model name")
    }

    fn by_fields(&mut self) -> Result<ByList, CompileError> {
        let mut by = Vec::new();
        let mut span = None;
        while !self.at_end() {
            if self.eat(&Tok::Comma) {
                continue;
            }
            if self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
                let name = self.word("an option")?;
                if name.node.eq_ignore_ascii_case("span") && span.is_none() {
                    self.pos += 1;
                    span = Some(self.word("a span such as `1h`")?);
                    continue;
                }
                let kind = CompileErrorKind::UnsupportedOption { name: name.node.clone() };
                return Err(self.refuse(kind, name.span));
            }
            by.push(self.word("a BY field")?);
        }
        Ok((by, span))
    }

    fn command(&mut self) -> Result<Command, CompileError> {
        let name = match self.peek() {
            Some(t) if t.bare_word().is_some() => self.word("a command")?,
            _ => return Err(self.error("a command name")),
        };
        let cmd = match name.node.to_ascii_lowercase().as_str() {
            "rename" => Command::Rename(self.rename_pairs()?),
            "convert" => self.convert()?,
            "search" => Command::Search(self.expr_until(&[])?),
            "where" => Command::Where(self.eval_rest(eval_syntax::parse_expr)?),
            "eval" => Command::Eval(self.eval_rest(eval_syntax::parse_assignments)?),
            "table" => Command::Table(self.field_list(true)?),
            "fields" => self.fields()?,
            "dedup" => self.dedup()?,
            "sort" => self.sort()?,
            "head" => self.head()?,
            "fillnull" => self.fillnull()?,
            "regex" => self.regex()?,
            _ => {
                let kind = CompileErrorKind::UnsupportedCommand { name: name.node.clone() };
                return Err(self.refuse(kind, name.span));
            }
        };
        self.expect_end()?;
        Ok(cmd)
    }

    /// Hands the rest of the command's text to the eval-language parser.
    fn eval_rest<T>(
        &mut self,
        parse: impl Fn(&str, usize, usize) -> Result<T, CompileError>,
    ) -> Result<T, CompileError> {
        let start = self.peek().map_or(self.end_span().start, |t| t.span.start);
        let end = self.end_span().end;
        if start >= end {
            return Err(self.error("an expression"));
        }
        let out = parse(self.text, start, end)?;
        self.pos = self.toks.len();
        Ok(out)
    }

    /// Field names up to the end, commas optional; `allow_options` off refuses `key=value`.
    fn field_list(&mut self, refuse_options: bool) -> Result<Vec<Spanned<String>>, CompileError> {
        let mut fields = Vec::new();
        while !self.at_end() {
            if self.eat(&Tok::Comma) {
                continue;
            }
            if refuse_options && self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
                let name = self.word("an option")?;
                let kind = CompileErrorKind::UnsupportedOption { name: name.node.clone() };
                return Err(self.refuse(kind, name.span));
            }
            fields.push(self.word("a field name")?);
        }
        Ok(fields)
    }

    fn fields(&mut self) -> Result<Command, CompileError> {
        let mut remove = false;
        if let Some(sign) = self.peek().and_then(Token::bare_word) {
            if sign == "-" || sign == "+" {
                remove = sign == "-";
                self.pos += 1;
            }
        }
        let mut fields = self.field_list(true)?;
        // `fields -a b`, written without the space, removes too.
        if let Some(rest) = fields.first().and_then(|f| f.node.strip_prefix('-')) {
            if !remove && !rest.is_empty() {
                remove = true;
                fields[0].node = rest.to_string();
            }
        }
        if fields.is_empty() {
            return Err(self.error("a field name"));
        }
        Ok(Command::Fields { remove, fields })
    }

    /// An optional leading count such as `dedup 3 ...`, `sort 0 ...`, `head 20`.
    fn leading_count(&mut self) -> Result<Option<usize>, CompileError> {
        let Some(w) = self.peek().and_then(Token::bare_word) else { return Ok(None) };
        let negative = w
            .strip_prefix('-')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        if negative {
            let t = self.peek().expect("peeked");
            let found = format!("the count {w} (a count is 0 or more)");
            return Err(self.refuse(CompileErrorKind::UnsupportedSyntax { found }, t.span));
        }
        if !w.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let t = self.bump().expect("peeked");
        match w.parse::<usize>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => {
                let found = w.to_string();
                Err(self.refuse(CompileErrorKind::UnsupportedSyntax { found }, t.span))
            }
        }
    }

    /// A `key=value` option with a boolean value.
    fn bool_option(&mut self, key: &Spanned<String>) -> Result<bool, CompileError> {
        let value = self.word("an option value")?;
        match parse_bool(&value.node) {
            Some(b) => Ok(b),
            None => {
                let kind = CompileErrorKind::UnsupportedOptionValue {
                    name: key.node.clone(),
                    value: value.node,
                };
                Err(self.refuse(kind, value.span))
            }
        }
    }

    fn dedup(&mut self) -> Result<Command, CompileError> {
        let count = self.leading_count()?.unwrap_or(1).max(1);
        let (mut keepempty, mut consecutive) = (false, false);
        let mut fields = Vec::new();
        while !self.at_end() {
            if self.eat(&Tok::Comma) {
                continue;
            }
            if self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
                let key = self.word("an option")?;
                self.pos += 1;
                match key.node.to_ascii_lowercase().as_str() {
                    "keepempty" => keepempty = self.bool_option(&key)?,
                    "consecutive" => consecutive = self.bool_option(&key)?,
                    _ => {
                        let kind = CompileErrorKind::UnsupportedOption { name: key.node };
                        return Err(self.refuse(kind, key.span));
                    }
                }
                continue;
            }
            if self.peek().is_some_and(|t| t.is_keyword_ci("sortby")) {
                let t = self.bump().expect("peeked");
                let kind = CompileErrorKind::UnsupportedOption { name: "dedup sortby".into() };
                return Err(self.refuse(kind, t.span));
            }
            fields.push(self.word("a field name")?);
        }
        if fields.is_empty() {
            return Err(self.error("a field name"));
        }
        Ok(Command::Dedup { count, fields, keepempty, consecutive })
    }

    fn sort(&mut self) -> Result<Command, CompileError> {
        let mut limit = self.leading_count()?.unwrap_or(SORT_DEFAULT_LIMIT);
        let mut keys = Vec::new();
        let mut sign: Option<bool> = None;
        while !self.at_end() {
            if self.eat(&Tok::Comma) {
                continue;
            }
            if self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
                let key = self.word("an option")?;
                if key.node.eq_ignore_ascii_case("limit") {
                    self.pos += 1;
                    limit = self.leading_count()?.ok_or_else(|| self.error("a number"))?;
                    continue;
                }
                let kind = CompileErrorKind::UnsupportedOption { name: key.node };
                return Err(self.refuse(kind, key.span));
            }
            if self.peek_at(1).is_some_and(|t| t.tok == Tok::LParen) {
                let f = self.word("a field")?;
                let kind =
                    CompileErrorKind::UnsupportedOption { name: format!("sort {}()", f.node) };
                return Err(self.refuse(kind, f.span));
            }
            let mut w = self.word("a field to sort by")?;
            if w.node == "-" || w.node == "+" {
                sign = Some(w.node == "-");
                continue;
            }
            if ["desc", "d"].contains(&w.node.to_ascii_lowercase().as_str()) && !keys.is_empty() {
                let kind = CompileErrorKind::UnsupportedOption { name: format!("sort {}", w.node) };
                return Err(self.refuse(kind, w.span));
            }
            let mut desc = sign.take().unwrap_or(false);
            if let Some(rest) = w.node.strip_prefix('-') {
                desc = true;
                w.node = rest.to_string();
            } else if let Some(rest) = w.node.strip_prefix('+') {
                w.node = rest.to_string();
            }
            keys.push((desc, w));
        }
        if keys.is_empty() {
            return Err(self.error("a field to sort by"));
        }
        Ok(Command::Sort { limit, keys })
    }

    fn head(&mut self) -> Result<Command, CompileError> {
        let mut n = self.leading_count()?;
        if n.is_none() && self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
            let key = self.word("an option")?;
            if !key.node.eq_ignore_ascii_case("limit") {
                let kind = CompileErrorKind::UnsupportedOption { name: key.node };
                return Err(self.refuse(kind, key.span));
            }
            self.pos += 1;
            n = Some(self.leading_count()?.ok_or_else(|| self.error("a number"))?);
        }
        if !self.at_end() {
            let t = self.peek().expect("not at end");
            let kind =
                CompileErrorKind::UnsupportedSyntax { found: format!("head {}", t.describe()) };
            return Err(self.refuse(kind, t.span));
        }
        Ok(Command::Head(n.unwrap_or(HEAD_DEFAULT)))
    }

    fn fillnull(&mut self) -> Result<Command, CompileError> {
        let mut value = "0".to_string();
        if self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
            let key = self.word("an option")?;
            if !key.node.eq_ignore_ascii_case("value") {
                let kind = CompileErrorKind::UnsupportedOption { name: key.node };
                return Err(self.refuse(kind, key.span));
            }
            self.pos += 1;
            value = self.word("a fill value")?.node;
        }
        Ok(Command::Fillnull { value, fields: self.field_list(true)? })
    }

    fn regex(&mut self) -> Result<Command, CompileError> {
        let field = self.word("`field=\"regex\"`")?;
        let negate = match self.bump().map(|t| &t.tok) {
            Some(Tok::Eq) => false,
            Some(Tok::Ne) => true,
            _ => {
                let kind = CompileErrorKind::UnsupportedSyntax {
                    found: format!("regex {} (a regex over _raw)", field.node),
                };
                return Err(self.refuse(kind, field.span));
            }
        };
        let pattern = self.word("a regular expression")?;
        Ok(Command::Regex { field, negate, pattern })
    }

    fn rename_pairs(&mut self) -> Result<Pairs, CompileError> {
        let mut pairs = Vec::new();
        loop {
            let from = self.word("a field to rename")?;
            if !self.eat_keyword_ci("as") {
                return Err(self.error("`as`"));
            }
            let to = self.word("a new field name")?;
            pairs.push((from, to));
            self.eat(&Tok::Comma);
            if self.at_end() {
                return Ok(pairs);
            }
        }
    }

    fn convert(&mut self) -> Result<Command, CompileError> {
        let mut timeformat = None;
        let mut calls = Vec::new();
        while !self.at_end() {
            if self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
                let key = self.word("a convert option")?;
                self.pos += 1;
                let value = self.word("an option value")?;
                if !key.node.eq_ignore_ascii_case("timeformat") {
                    let kind = CompileErrorKind::UnsupportedOption { name: key.node };
                    return Err(self.refuse(kind, key.span));
                }
                timeformat = Some(value);
                continue;
            }
            let func = self.word("a conversion such as `ctime(field)`")?;
            self.expect(&Tok::LParen, "`(`")?;
            let field = self.word("a field")?;
            self.expect(&Tok::RParen, "`)`")?;
            let alias = if self.eat_keyword_ci("as") { Some(self.word("a name")?) } else { None };
            calls.push(ConvertCall { func, field, alias });
            self.eat(&Tok::Comma);
        }
        if calls.is_empty() {
            return Err(self.error("a conversion such as `ctime(field)`"));
        }
        Ok(Command::Convert { timeformat, calls })
    }

    /// Parses an expression up to the end or an unquoted keyword in `stop` (any case).
    fn expr_until(&mut self, stop: &[&str]) -> Result<SearchExpr, CompileError> {
        let expr = self.and_expr(stop)?;
        Ok(expr)
    }

    fn at_stop(&self, stop: &[&str]) -> bool {
        match self.peek() {
            None => true,
            Some(t) => t.tok == Tok::RParen || stop.iter().any(|kw| t.is_keyword_ci(kw)),
        }
    }

    fn and_expr(&mut self, stop: &[&str]) -> Result<SearchExpr, CompileError> {
        let mut terms = vec![self.or_expr(stop)?];
        while !self.at_stop(stop) {
            if self.eat_keyword("AND") && self.at_stop(stop) {
                return Err(self.error("a term after AND"));
            }
            terms.push(self.or_expr(stop)?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { SearchExpr::And(terms) })
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is_keyword(kw));
        self.pos += usize::from(hit);
        hit
    }

    fn or_expr(&mut self, stop: &[&str]) -> Result<SearchExpr, CompileError> {
        let mut terms = vec![self.not_expr(stop)?];
        while self.eat_keyword("OR") {
            terms.push(self.not_expr(stop)?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { SearchExpr::Or(terms) })
    }

    fn not_expr(&mut self, stop: &[&str]) -> Result<SearchExpr, CompileError> {
        self.depth += 1;
        // The outermost term counts one level of its own.
        if self.depth > MAX_NESTING + 1 {
            return Err(self.error("at most 128 nested parentheses and NOTs"));
        }
        let result = if self.eat_keyword("NOT") {
            self.not_expr(stop).map(|e| SearchExpr::Not(Box::new(e)))
        } else {
            self.primary(stop)
        };
        self.depth -= 1;
        result
    }

    fn primary(&mut self, stop: &[&str]) -> Result<SearchExpr, CompileError> {
        if self.eat(&Tok::LParen) {
            let inner = self.and_expr(stop)?;
            self.expect(&Tok::RParen, "`)`")?;
            return Ok(inner);
        }
        if self.at_stop(stop) {
            return Err(self.error("a search term"));
        }
        self.term()
    }

    fn term(&mut self) -> Result<SearchExpr, CompileError> {
        let first = self.word("a search term such as `field=value`")?;
        let next = self.peek();
        match next.map(|t| &t.tok) {
            Some(Tok::Eq) | Some(Tok::Ne) => {
                let op = if self.bump().is_some_and(|t| t.tok == Tok::Eq) {
                    CmpOp::Eq
                } else {
                    CmpOp::Ne
                };
                let value = self.word("a value")?;
                Ok(SearchExpr::Compare { field: first, op, value })
            }
            Some(Tok::Relational(op)) => {
                let op = match *op {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                self.pos += 1;
                let value = self.word("a value")?;
                Ok(SearchExpr::Compare { field: first, op, value })
            }
            _ if next.is_some_and(|t| t.is_keyword("IN")) => {
                self.pos += 1;
                Ok(SearchExpr::In { field: first, values: self.in_list()? })
            }
            _ if first.node == "*" => Ok(SearchExpr::All(first.span)),
            _ if next.is_some_and(|t| t.is_keyword("in")) => {
                let span = next.map_or(first.span, |t| t.span);
                Err(self.refuse(CompileErrorKind::LowerCaseOperator { found: "in".into() }, span))
            }
            _ if ["and", "or", "not"].contains(&first.node.as_str()) => {
                let found = first.node.clone();
                Err(self.refuse(CompileErrorKind::LowerCaseOperator { found }, first.span))
            }
            _ => {
                let found = first.node.clone();
                Err(self.refuse(CompileErrorKind::UnsupportedSyntax { found }, first.span))
            }
        }
    }

    fn in_list(&mut self) -> Result<Vec<Spanned<String>>, CompileError> {
        self.expect(&Tok::LParen, "`(` after IN")?;
        let mut values = Vec::new();
        loop {
            values.push(self.word("a value in the IN list")?);
            if !self.eat(&Tok::Comma) {
                self.expect(&Tok::RParen, "`,` or `)` in the IN list")?;
                break;
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> SearchExpr {
        let full = format!("| tstats count from datamodel=Endpoint.Processes where {text}");
        parse_search(&full).unwrap().tstats.filter.unwrap()
    }

    /// Renders an expression with explicit grouping, for precedence checks.
    fn show(e: &SearchExpr) -> String {
        match e {
            SearchExpr::And(v) => {
                format!("and({})", v.iter().map(show).collect::<Vec<_>>().join(","))
            }
            SearchExpr::Or(v) => {
                format!("or({})", v.iter().map(show).collect::<Vec<_>>().join(","))
            }
            SearchExpr::Not(x) => format!("not({})", show(x)),
            SearchExpr::Compare { field, op, value } => {
                format!("{}{}{}", field.node, op.text(), value.node)
            }
            SearchExpr::In { field, values } => {
                let v: Vec<_> = values.iter().map(|v| v.node.as_str()).collect();
                format!("{} in [{}]", field.node, v.join(","))
            }
            SearchExpr::All(_) => "*".into(),
        }
    }

    #[test]
    fn or_binds_tighter_than_implicit_and() {
        assert_eq!(show(&filter("a=1 b=2 OR c=3")), "and(a=1,or(b=2,c=3))");
        assert_eq!(show(&filter("a=1 AND b=2 OR c=3 d=4")), "and(a=1,or(b=2,c=3),d=4)");
    }

    #[test]
    fn not_applies_to_the_next_term_only() {
        assert_eq!(show(&filter("NOT a=1 OR b=2")), "or(not(a=1),b=2)");
        assert_eq!(show(&filter("NOT (a=1 OR b=2) c!=3")), "and(not(or(a=1,b=2)),c!=3)");
    }

    #[test]
    fn in_lists_take_quotes_and_trailing_spaces() {
        assert_eq!(show(&filter("p IN (*a*, \"b c\" )")), "p in [*a*,b c]");
    }

    #[test]
    fn lower_case_or_is_a_term_and_is_refused() {
        let full = "| tstats count from datamodel=Endpoint.Processes where a=1 or b=2";
        let err = parse_search(full).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::LowerCaseOperator { found: "or".into() });
    }

    #[test]
    fn by_list_and_aggregates() {
        let p = parse_search(
            "| tstats fillnull_value=null count min(_time) as firstTime FROM \
             datamodel=Endpoint.Processes BY Processes.dest, Processes.user",
        )
        .unwrap();
        assert_eq!(p.tstats.options[0].1.node, "null");
        assert_eq!(p.tstats.aggregates.len(), 2);
        assert_eq!(p.tstats.aggregates[1].alias.as_ref().unwrap().node, "firstTime");
        let by: Vec<_> = p.tstats.by.iter().map(|b| b.node.as_str()).collect();
        assert_eq!(by, ["Processes.dest", "Processes.user"]);
    }

    #[test]
    fn unknown_command_is_named_with_its_position() {
        let text = "| tstats count from datamodel=Endpoint.Processes | stats count";
        let err = parse_search(text).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::UnsupportedCommand { name: "stats".into() });
        assert_eq!(&text[err.span.unwrap().start..err.span.unwrap().end], "stats");
    }

    #[test]
    fn unclosed_parenthesis_says_so() {
        let text = "| tstats count from datamodel=Endpoint.Processes where (a=1 OR b=2 by x";
        let err = parse_search(text).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::Syntax { expected: "`)`", found: "by".into() });
    }

    #[test]
    fn deep_nesting_is_a_compile_error() {
        let text = format!(
            "| tstats count from datamodel=Endpoint.Processes where {}a=1{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(matches!(parse_search(&text).unwrap_err().kind, CompileErrorKind::Syntax { .. }));
        let nots = format!(
            "| tstats count from datamodel=Endpoint.Processes where {}a=1",
            "NOT ".repeat(30_000)
        );
        assert!(parse_search(&nots).is_err());
    }

    #[test]
    fn relational_operators_parse() {
        assert_eq!(show(&filter("a>4 b<=c")), "and(a>4,b<=c)");
    }

    #[test]
    fn post_commands_parse_with_their_options() {
        let text = "| tstats count from datamodel=Endpoint.Processes by _time span=1h x \
                    | where len(x) > 3 AND match(x, \"a|b\") | eval y=lower(x), z=1 \
                    | table x, y* | fields - z | dedup 2 x keepempty=true | sort 0 -count, +x \
                    | head limit=5 | fillnull value=NA x q | regex x!=\"^c\"";
        let p = parse_search(text).unwrap();
        assert_eq!(p.tstats.span.as_ref().unwrap().node, "1h");
        assert_eq!(p.commands.len(), 9);
        assert!(matches!(&p.commands[1], Command::Eval(a) if a.len() == 2));
        assert!(matches!(&p.commands[3], Command::Fields { remove: true, .. }));
        let Command::Dedup { count, keepempty, .. } = &p.commands[4] else { panic!() };
        assert_eq!((*count, *keepempty), (2, true));
        let Command::Sort { limit, keys } = &p.commands[5] else { panic!() };
        assert_eq!(*limit, 0);
        let k: Vec<(bool, &str)> = keys.iter().map(|(d, f)| (*d, f.node.as_str())).collect();
        assert_eq!(k, [(true, "count"), (false, "x")]);
        assert_eq!(p.commands[6], Command::Head(5));
        assert!(matches!(&p.commands[8], Command::Regex { negate: true, .. }));
    }

    #[test]
    fn defaults_of_sort_and_head_are_splunks() {
        let p = parse_search("| tstats count from datamodel=Endpoint.Processes | sort x | head")
            .unwrap();
        assert!(matches!(&p.commands[0], Command::Sort { limit: 10_000, .. }));
        assert_eq!(p.commands[1], Command::Head(10));
        for bad in ["| dedup x sortby -y", "| regex \"raw\"", "| head count>5", "| sort num(x)"] {
            let text = format!("| tstats count from datamodel=Endpoint.Processes {bad}");
            assert!(parse_search(&text).is_err(), "{bad}");
        }
    }
}
