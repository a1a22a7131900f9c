//! Parses tokens into the syntax tree of `ast`.
//!
//! Owns the grammar of the subset and Splunk's search-language precedence: parentheses, then
//! `NOT`, then `OR`, then `AND` (explicit or implied by juxtaposition), operators in upper case
//! only. Every command name it does not know is refused here, by name and position; it must
//! not guess at the meaning of anything it cannot parse.

use super::ast::*;
use super::error::{CompileError, CompileErrorKind};
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
        let by = if self.eat_keyword_ci("by") { self.by_fields()? } else { Vec::new() };
        self.expect_end()?;
        let span = Span::new(start, self.end_span().end);
        Ok(Tstats { options, aggregates, datamodel, filter, by, span })
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

    fn by_fields(&mut self) -> Result<Vec<Spanned<String>>, CompileError> {
        let mut by = Vec::new();
        while !self.at_end() {
            if self.eat(&Tok::Comma) {
                continue;
            }
            if self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq) {
                let name = self.word("an option")?;
                let kind = CompileErrorKind::UnsupportedOption { name: name.node.clone() };
                return Err(self.refuse(kind, name.span));
            }
            by.push(self.word("a BY field")?);
        }
        Ok(by)
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
            _ => {
                let kind = CompileErrorKind::UnsupportedCommand { name: name.node.clone() };
                return Err(self.refuse(kind, name.span));
            }
        };
        self.expect_end()?;
        Ok(cmd)
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
                let span = next.map_or(first.span, |t| first.span.to(t.span));
                let found = format!("{}{op}", first.node);
                Err(self.refuse(CompileErrorKind::UnsupportedSyntax { found }, span))
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
                let op = if *op == CmpOp::Eq { "=" } else { "!=" };
                format!("{}{op}{}", field.node, value.node)
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
    fn relational_operators_are_refused() {
        let text = "| tstats count from datamodel=Endpoint.Processes where Processes.process_id>4";
        let err = parse_search(text).unwrap_err();
        assert!(matches!(err.kind, CompileErrorKind::UnsupportedSyntax { .. }));
    }
}
