//! The virtualenv, built natively for its final prefix: the interpreter query
//! (`interpreter`), the layout `python -m venv --without-pip` makes
//! (`layout`), wheels unpacked from verified archives (`install`), launcher
//! scripts (`scripts`) and the bytecode policy (`bytecode`).
pub mod bytecode;
pub mod install;
pub mod interpreter;
pub mod layout;
pub mod scripts;
