//! Hand-written lexer and recursive-descent parsers for condition, update and
//! projection expressions (EX-07..EX-12, UX-01..UX-04, PX-01).
//!
//! Syntax errors stop at the first bad token. Other static errors (redundant
//! parentheses, unknown or misused functions, reserved words, repeated clauses, operand
//! counts) are collected while parsing and the first of the highest-priority kind is
//! reported, the order dynalite uses.

use super::ExprKind;
use super::ast::*;
use super::reserved::is_reserved;
use crate::error::EngineError;

/// Longest expression string, 4 KB (EX-02).
pub const EXPRESSION_BYTES_MAX: usize = 4096;
/// Most operands of IN (EX-02).
pub const IN_OPERANDS_MAX: usize = 100;
/// Most dereference steps in one document path (DM-18).
pub const PATH_STEPS_MAX: usize = 32;
/// Deepest nesting of parentheses and NOT the parser accepts (a simulator bound that
/// keeps recursion finite; DynamoDB's own bound is undocumented).
pub const NESTING_DEPTH_MAX: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Ident,
    Name,
    Value,
    Int,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Eof,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_ident_part(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn syntax_error(kind: ExprKind, token: &str, near: &str) -> EngineError {
    EngineError::validation(format!(
        "Invalid {}: Syntax error; token: \"{token}\", near: \"{near}\"",
        kind.name()
    ))
}

/// Splits the source into tokens; an unknown character is a syntax error whose `near`
/// spans the previous token through the word after the bad character (EX-11).
fn lex(src: &str, kind: ExprKind) -> Result<Vec<Token>, EngineError> {
    let bytes = src.as_bytes();
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let single = |t: Tok| (t, start + 1);
        let (tok, end) = match c {
            b'(' => single(Tok::LParen),
            b')' => single(Tok::RParen),
            b'[' => single(Tok::LBracket),
            b']' => single(Tok::RBracket),
            b',' => single(Tok::Comma),
            b'.' => single(Tok::Dot),
            b'=' => single(Tok::Eq),
            b'+' => single(Tok::Plus),
            b'-' => single(Tok::Minus),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (Tok::Ne, i + 2),
                Some(b'=') => (Tok::Le, i + 2),
                _ => single(Tok::Lt),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (Tok::Ge, i + 2),
                _ => single(Tok::Gt),
            },
            b'#' | b':' => {
                let mut j = i + 1;
                while j < bytes.len() && is_ident_part(bytes[j]) {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(lex_error(src, &tokens, i, kind));
                }
                (if c == b'#' { Tok::Name } else { Tok::Value }, j)
            }
            b'0'..=b'9' => {
                let mut j = i;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                (Tok::Int, j)
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let mut j = i;
                while j < bytes.len() && is_ident_part(bytes[j]) {
                    j += 1;
                }
                (Tok::Ident, j)
            }
            _ => return Err(lex_error(src, &tokens, i, kind)),
        };
        tokens.push(Token { tok, start, end });
        i = end;
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(tokens)
}

fn lex_error(src: &str, tokens: &[Token], at: usize, kind: ExprKind) -> EngineError {
    let ch_len = src[at..].chars().next().map_or(1, char::len_utf8);
    let bad = &src[at..at + ch_len];
    let from = tokens.last().map_or(at, |t| t.start);
    let mut to = at + ch_len;
    let bytes = src.as_bytes();
    while to < bytes.len() && is_ident_part(bytes[to]) {
        to += 1;
    }
    syntax_error(kind, bad, &src[from..to])
}

/// Static (request-independent) error categories, highest priority first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Category {
    Parens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    Section,
    Operands,
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    kind: ExprKind,
    depth: usize,
    /// First static error per category (kept sorted by category when reported).
    errors: Vec<(Category, String)>,
}

type PResult<T> = Result<T, EngineError>;

impl<'a> Parser<'a> {
    fn new(src: &'a str, kind: ExprKind) -> PResult<Parser<'a>> {
        if src.len() > EXPRESSION_BYTES_MAX {
            return Err(EngineError::validation(format!(
                "Invalid {}: Expression size has exceeded the maximum allowed size; expression size: {}",
                kind.name(),
                src.len()
            )));
        }
        if src
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
            .is_empty()
        {
            return Err(EngineError::validation(format!(
                "Invalid {}: The expression can not be empty;",
                kind.name()
            )));
        }
        let tokens = lex(src, kind)?;
        Ok(Parser {
            src,
            tokens,
            pos: 0,
            kind,
            depth: 0,
            errors: Vec::new(),
        })
    }

    fn peek(&self) -> Token {
        self.tokens[self.pos]
    }
    fn peek_at(&self, offset: usize) -> Token {
        self.tokens[(self.pos + offset).min(self.tokens.len() - 1)]
    }
    fn text(&self, t: Token) -> &'a str {
        &self.src[t.start..t.end]
    }
    fn bump(&mut self) -> Token {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }
    fn at(&self, tok: Tok) -> bool {
        self.peek().tok == tok
    }
    fn at_keyword(&self, word: &str) -> bool {
        let t = self.peek();
        t.tok == Tok::Ident && self.text(t).eq_ignore_ascii_case(word)
    }

    /// A syntax error at the current token: `near` spans the previous token through
    /// the next one.
    fn error_here(&self) -> EngineError {
        let t = self.peek();
        let from = if self.pos > 0 {
            self.tokens[self.pos - 1].start
        } else {
            t.start
        };
        if t.tok == Tok::Eof {
            return syntax_error(self.kind, "<EOF>", &self.src[from..]);
        }
        let next = self.peek_at(1);
        let to = if next.tok == Tok::Eof {
            t.end
        } else {
            next.end
        };
        syntax_error(self.kind, self.text(t), &self.src[from..to])
    }

    fn expect(&mut self, tok: Tok) -> PResult<Token> {
        if self.at(tok) {
            Ok(self.bump())
        } else {
            Err(self.error_here())
        }
    }

    fn note(&mut self, category: Category, message: String) {
        if !self.errors.iter().any(|(c, _)| *c == category) {
            self.errors.push((category, message));
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > NESTING_DEPTH_MAX {
            return Err(EngineError::validation(format!(
                "Invalid {}: The expression is nested too deeply; depth limit: {NESTING_DEPTH_MAX}",
                self.kind.name()
            )));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Ends a parse: trailing tokens are a syntax error, then the first static error.
    fn finish<T>(mut self, value: T) -> PResult<T> {
        if !self.at(Tok::Eof) {
            return Err(self.error_here());
        }
        self.errors.sort_by_key(|(c, _)| *c);
        match self.errors.into_iter().next() {
            Some((_, message)) => Err(EngineError::validation(format!(
                "Invalid {}: {message}",
                self.kind.name()
            ))),
            None => Ok(value),
        }
    }

    /// Keywords of the expression's grammar, which cannot stand as bare names
    /// (case-insensitive, EX-09).
    fn is_keyword_token(&self, t: Token) -> bool {
        let words: &[&str] = match self.kind {
            ExprKind::Update | ExprKind::UpdateChained => &["SET", "REMOVE", "ADD", "DELETE"],
            ExprKind::Projection => &[],
            _ => &["AND", "OR", "NOT", "BETWEEN", "IN"],
        };
        t.tok == Tok::Ident && words.iter().any(|k| self.text(t).eq_ignore_ascii_case(k))
    }

    // ---- paths --------------------------------------------------------------

    fn path_name(&mut self) -> PResult<PathElem> {
        let t = self.peek();
        match t.tok {
            Tok::Ident if !self.is_keyword_token(t) => {
                self.bump();
                let name = self.text(t);
                if is_reserved(name) {
                    self.note(
                        Category::Reserved,
                        format!("Attribute name is a reserved keyword; reserved keyword: {name}"),
                    );
                }
                Ok(PathElem::Name(name.to_string()))
            }
            Tok::Name => {
                self.bump();
                Ok(PathElem::Placeholder(self.text(t).to_string()))
            }
            _ => Err(self.error_here()),
        }
    }

    fn path(&mut self) -> PResult<Path> {
        let mut elems = vec![self.path_name()?];
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.bump();
                    elems.push(self.path_name()?);
                }
                Tok::LBracket => {
                    self.bump();
                    let t = self.expect(Tok::Int)?;
                    let index = self.text(t).parse::<usize>().map_err(|_| {
                        EngineError::validation(format!(
                            "Invalid {}: List index is too large; index: {}",
                            self.kind.name(),
                            self.text(t)
                        ))
                    })?;
                    self.expect(Tok::RBracket)?;
                    elems.push(PathElem::Index(index));
                }
                _ => break,
            }
        }
        if elems.len() > PATH_STEPS_MAX + 1 {
            return Err(EngineError::validation(format!(
                "Invalid {}: The document path has too many nesting levels; nesting levels: {}",
                self.kind.name(),
                elems.len() - 1
            )));
        }
        Ok(Path(elems))
    }

    // ---- condition expressions ------------------------------------------------

    fn or(&mut self) -> PResult<Parsed> {
        let mut left = self.and()?;
        while self.at_keyword("OR") {
            let left_cond = self.as_condition(left)?;
            self.bump();
            let right = self.and()?;
            let right_cond = self.as_condition(right)?;
            left = Parsed::Cond(
                Condition::Or(Box::new(left_cond), Box::new(right_cond)),
                false,
            );
        }
        Ok(left)
    }

    fn and(&mut self) -> PResult<Parsed> {
        let mut left = self.not()?;
        while self.at_keyword("AND") {
            let left_cond = self.as_condition(left)?;
            self.bump();
            let right = self.not()?;
            let right_cond = self.as_condition(right)?;
            left = Parsed::Cond(
                Condition::And(Box::new(left_cond), Box::new(right_cond)),
                false,
            );
        }
        Ok(left)
    }

    fn not(&mut self) -> PResult<Parsed> {
        if self.at_keyword("NOT") {
            self.bump();
            self.enter()?;
            let inner = self.not()?;
            self.leave();
            let cond = self.as_condition(inner)?;
            return Ok(Parsed::Cond(Condition::Not(Box::new(cond)), false));
        }
        self.primary()
    }

    /// A bare operand is only a condition when a comparator follows; anywhere else it
    /// is a syntax error at the current token. `size()` alone is a misused function.
    fn as_condition(&mut self, parsed: Parsed) -> PResult<Condition> {
        match parsed {
            Parsed::Cond(c, _) => Ok(c),
            Parsed::Operand(op, _) => {
                if let Operand::Size(_) = op {
                    self.note(
                        Category::MisusedFunction,
                        "The function is not allowed to be used this way in an expression; function: size".into(),
                    );
                    return Ok(Condition::Function(CondFunction::AttributeExists, vec![]));
                }
                Err(self.error_here())
            }
        }
    }

    fn primary(&mut self) -> PResult<Parsed> {
        if self.at(Tok::LParen) {
            self.bump();
            self.enter()?;
            let inner = self.or()?;
            self.leave();
            self.expect(Tok::RParen)?;
            return match inner {
                Parsed::Cond(c, parenthesized) => {
                    if parenthesized {
                        self.note(
                            Category::Parens,
                            "The expression has redundant parentheses;".into(),
                        );
                    }
                    Ok(Parsed::Cond(c, true))
                }
                Parsed::Operand(op, parenthesized) => {
                    if parenthesized {
                        self.note(
                            Category::Parens,
                            "The expression has redundant parentheses;".into(),
                        );
                    }
                    self.after_operand(op, true)
                }
            };
        }
        let op = self.operand_or_call()?;
        match op {
            Callable::Function(f, args) => {
                if self.at_comparison() {
                    self.note(
                        Category::MisusedFunction,
                        format!("The function is not allowed to be used this way in an expression; function: {}", f.name()),
                    );
                    let placeholder = Operand::Value(String::new());
                    return self.after_operand(placeholder, false);
                }
                Ok(Parsed::Cond(Condition::Function(f, args), false))
            }
            Callable::Operand(op) => self.after_operand(op, false),
            Callable::Unknown if self.at_comparison() => {
                self.after_operand(Operand::Value(String::new()), false)
            }
            Callable::Unknown => Ok(Parsed::Cond(
                Condition::Function(CondFunction::AttributeExists, vec![]),
                false,
            )),
        }
    }

    fn at_comparison(&self) -> bool {
        matches!(
            self.peek().tok,
            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
        ) || self.at_keyword("BETWEEN")
            || self.at_keyword("IN")
    }

    /// After a left operand: a comparator, BETWEEN or IN, or (inside parentheses) the
    /// bare operand is handed back to the caller.
    fn after_operand(&mut self, left: Operand, parenthesized: bool) -> PResult<Parsed> {
        let comparator = match self.peek().tok {
            Tok::Eq => Some(Comparator::Eq),
            Tok::Ne => Some(Comparator::Ne),
            Tok::Lt => Some(Comparator::Lt),
            Tok::Le => Some(Comparator::Le),
            Tok::Gt => Some(Comparator::Gt),
            Tok::Ge => Some(Comparator::Ge),
            _ => None,
        };
        if let Some(c) = comparator {
            self.bump();
            let right = self.operand()?;
            return Ok(Parsed::Cond(Condition::Compare(c, left, right), false));
        }
        if self.at_keyword("BETWEEN") {
            self.bump();
            let low = self.operand()?;
            if !self.at_keyword("AND") {
                return Err(self.error_here());
            }
            self.bump();
            let high = self.operand()?;
            return Ok(Parsed::Cond(Condition::Between(left, low, high), false));
        }
        if self.at_keyword("IN") {
            self.bump();
            self.expect(Tok::LParen)?;
            let mut list = vec![self.operand()?];
            while self.at(Tok::Comma) {
                self.bump();
                list.push(self.operand()?);
            }
            self.expect(Tok::RParen)?;
            if list.len() > IN_OPERANDS_MAX {
                self.note(
                    Category::Operands,
                    format!(
                        "Too many operands for the IN operator; operator: IN, number of operands: {}, maximum: {IN_OPERANDS_MAX}",
                        list.len()
                    ),
                );
            }
            return Ok(Parsed::Cond(Condition::In(left, list), false));
        }
        Ok(Parsed::Operand(left, parenthesized))
    }

    /// An operand in a position where only an operand may stand.
    fn operand(&mut self) -> PResult<Operand> {
        if self.at(Tok::LParen) {
            self.bump();
            self.enter()?;
            let redundant = self.at(Tok::LParen);
            let inner = self.operand()?;
            self.leave();
            self.expect(Tok::RParen)?;
            if redundant {
                self.note(
                    Category::Parens,
                    "The expression has redundant parentheses;".into(),
                );
            }
            return Ok(inner);
        }
        match self.operand_or_call()? {
            Callable::Operand(op) => Ok(op),
            Callable::Unknown => Ok(Operand::Value(String::new())),
            Callable::Function(f, _) => {
                self.note(
                    Category::MisusedFunction,
                    format!("The function is not allowed to be used this way in an expression; function: {}", f.name()),
                );
                Ok(Operand::Value(String::new()))
            }
        }
    }

    fn operand_or_call(&mut self) -> PResult<Callable> {
        let t = self.peek();
        match t.tok {
            Tok::Value => {
                self.bump();
                Ok(Callable::Operand(Operand::Value(self.text(t).to_string())))
            }
            Tok::Ident if self.peek_at(1).tok == Tok::LParen && !self.is_keyword_token(t) => {
                self.call()
            }
            Tok::Ident | Tok::Name => Ok(Callable::Operand(Operand::Path(self.path()?))),
            _ => Err(self.error_here()),
        }
    }

    fn call(&mut self) -> PResult<Callable> {
        let name_token = self.bump();
        let name = self.text(name_token);
        self.expect(Tok::LParen)?;
        self.enter()?;
        let mut args = vec![self.operand()?];
        while self.at(Tok::Comma) {
            self.bump();
            args.push(self.operand()?);
        }
        self.leave();
        self.expect(Tok::RParen)?;
        let (function, arity) = match name {
            "attribute_exists" => (Some(CondFunction::AttributeExists), 1),
            "attribute_not_exists" => (Some(CondFunction::AttributeNotExists), 1),
            "attribute_type" => (Some(CondFunction::AttributeType), 2),
            "begins_with" => (Some(CondFunction::BeginsWith), 2),
            "contains" => (Some(CondFunction::Contains), 2),
            "size" => (None, 1),
            _ => {
                self.note(
                    Category::UnknownFunction,
                    format!("Invalid function name; function: {name}"),
                );
                return Ok(Callable::Unknown);
            }
        };
        if args.len() != arity {
            self.note(
                Category::Operands,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                    args.len()
                ),
            );
            args.truncate(arity);
            while args.len() < arity {
                args.push(Operand::Value(String::new()));
            }
        }
        match function {
            None => Ok(Callable::Operand(Operand::Size(Box::new(args.remove(0))))),
            Some(f) => {
                if matches!(
                    f,
                    CondFunction::AttributeExists | CondFunction::AttributeNotExists
                ) && !matches!(args[0], Operand::Path(_))
                {
                    self.note(
                        Category::Operands,
                        format!("Operator or function requires a document path; operator or function: {name}"),
                    );
                }
                Ok(Callable::Function(f, args))
            }
        }
    }

    // ---- update expressions ---------------------------------------------------

    fn update(&mut self) -> PResult<Update> {
        let mut actions = Vec::new();
        let mut seen: Vec<&'static str> = Vec::new();
        loop {
            let section = ["SET", "REMOVE", "ADD", "DELETE"]
                .into_iter()
                .find(|k| self.at_keyword(k));
            let Some(section) = section else {
                if actions.is_empty() || !self.at(Tok::Eof) {
                    return Err(self.error_here());
                }
                break;
            };
            self.bump();
            if seen.contains(&section) {
                self.note(
                    Category::Section,
                    format!(
                        "The \"{section}\" section can only be used once in an update expression;"
                    ),
                );
            }
            seen.push(section);
            loop {
                actions.push(self.update_action(section)?);
                if !self.at(Tok::Comma) {
                    break;
                }
                self.bump();
            }
            if self.at(Tok::Eof) {
                break;
            }
        }
        Ok(Update { actions })
    }

    fn update_action(&mut self, section: &str) -> PResult<UpdateAction> {
        let path = self.path()?;
        match section {
            "SET" => {
                self.expect(Tok::Eq)?;
                let value = if self.at(Tok::LParen) && !self.paren_is_operand() {
                    self.bump();
                    let v = self.set_value()?;
                    self.expect(Tok::RParen)?;
                    v
                } else {
                    self.set_value()?
                };
                Ok(UpdateAction::Set(path, value))
            }
            "REMOVE" => Ok(UpdateAction::Remove(path)),
            _ => {
                let t = self.expect(Tok::Value)?;
                let value = self.text(t).to_string();
                if section == "ADD" {
                    Ok(UpdateAction::Add(path, value))
                } else {
                    Ok(UpdateAction::Delete(path, value))
                }
            }
        }
    }

    /// Whether the `(` at the cursor wraps a single operand (`(a) + :b`) rather than
    /// the whole SET value (`(a + :b)`): scan to the matching `)` for a top-level `+`/`-`.
    fn paren_is_operand(&self) -> bool {
        let mut depth = 0usize;
        for t in &self.tokens[self.pos..] {
            match t.tok {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return true;
                    }
                }
                Tok::Plus | Tok::Minus if depth == 1 => return false,
                Tok::Eof => return true,
                _ => {}
            }
        }
        true
    }

    fn set_value(&mut self) -> PResult<SetValue> {
        let first = self.set_operand()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek().tok {
                Tok::Plus => ArithOp::Plus,
                Tok::Minus => ArithOp::Minus,
                _ => break,
            };
            if !rest.is_empty() && !self.kind_allows_chain() {
                return Err(self.error_here());
            }
            self.bump();
            rest.push((op, self.set_operand()?));
        }
        Ok(SetValue { first, rest })
    }

    fn kind_allows_chain(&self) -> bool {
        self.kind == ExprKind::UpdateChained
    }

    fn set_operand(&mut self) -> PResult<SetOperand> {
        let t = self.peek();
        match t.tok {
            Tok::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.set_operand()?;
                self.leave();
                self.expect(Tok::RParen)?;
                Ok(inner)
            }
            Tok::Value => {
                self.bump();
                Ok(SetOperand::Value(self.text(t).to_string()))
            }
            Tok::Ident if self.peek_at(1).tok == Tok::LParen => self.set_call(),
            Tok::Ident | Tok::Name => Ok(SetOperand::Path(self.path()?)),
            _ => Err(self.error_here()),
        }
    }

    fn set_call(&mut self) -> PResult<SetOperand> {
        let name_token = self.bump();
        let name = self.text(name_token);
        self.expect(Tok::LParen)?;
        self.enter()?;
        let mut args = vec![self.set_operand()?];
        while self.at(Tok::Comma) {
            self.bump();
            args.push(self.set_operand()?);
        }
        self.leave();
        self.expect(Tok::RParen)?;
        let filler = || SetOperand::Value(String::new());
        if name != "if_not_exists" && name != "list_append" {
            self.note(
                Category::UnknownFunction,
                format!("Invalid function name; function: {name}"),
            );
            return Ok(filler());
        }
        if args.len() != 2 {
            self.note(
                Category::Operands,
                format!(
                    "Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                    args.len()
                ),
            );
            return Ok(filler());
        }
        let second = args.pop().unwrap_or_else(filler);
        let first = args.pop().unwrap_or_else(filler);
        if name == "list_append" {
            return Ok(SetOperand::ListAppend(Box::new(first), Box::new(second)));
        }
        match first {
            SetOperand::Path(p) => Ok(SetOperand::IfNotExists(p, Box::new(second))),
            _ => {
                self.note(
                    Category::Operands,
                    "Operator or function requires a document path; operator or function: if_not_exists".into(),
                );
                Ok(filler())
            }
        }
    }

    // ---- projection expressions -------------------------------------------------

    fn projection(&mut self) -> PResult<Projection> {
        let mut paths = vec![self.path()?];
        while self.at(Tok::Comma) {
            self.bump();
            paths.push(self.path()?);
        }
        Ok(Projection { paths })
    }
}

enum Parsed {
    /// A condition, and whether it was wrapped in parentheses.
    Cond(Condition, bool),
    /// A bare operand awaiting a comparator, and whether it was parenthesized.
    Operand(Operand, bool),
}

enum Callable {
    Operand(Operand),
    /// An unknown function (already reported); stands for whatever the position needs.
    Unknown,
    Function(CondFunction, Vec<Operand>),
}

/// Parses a condition (or filter / key condition) expression.
pub fn parse_condition(src: &str, kind: ExprKind) -> Result<Condition, EngineError> {
    let mut p = Parser::new(src, kind)?;
    let parsed = p.or()?;
    let cond = p.as_condition(parsed)?;
    p.finish(cond)
}

/// Parses an update expression; `chained` allows `a + b - c` (UX-02, unconfirmed).
pub fn parse_update(src: &str, chained: bool) -> Result<Update, EngineError> {
    let kind = if chained {
        ExprKind::UpdateChained
    } else {
        ExprKind::Update
    };
    let mut p = Parser::new(src, kind)?;
    let update = p.update()?;
    p.finish(update)
}

/// Parses a projection expression.
pub fn parse_projection(src: &str) -> Result<Projection, EngineError> {
    let mut p = Parser::new(src, ExprKind::Projection)?;
    let projection = p.projection()?;
    p.finish(projection)
}
