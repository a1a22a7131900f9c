//! Stage 4a: the SPL front end. Detection YAML → macro expansion → tokens → syntax tree.
//!
//! Owns everything about text: YAML layout, macros, quoting, precedence. It produces
//! `ast::Pipeline` and must not know about fields, formats or runtime types; `plan` decides
//! what the tree means.

pub mod ast;
pub mod error;
pub mod eval_syntax;
pub mod lexer;
pub mod macros;
pub mod meta;
pub mod parser;
pub mod rule;

pub use error::{CompileError, CompileErrorKind};
pub use macros::MacroTable;
pub use rule::Detection;
