//! Planning: which verified wheel of each requirement suits the target
//! interpreter best (`tags`), and whether the set of distributions to be
//! installed is closed under their `Requires-Dist` (`closure`), and `target`
//! ties them together with Requires-Python for one interpreter. It reads no
//! wheel bytes of its own and writes nothing.
pub(crate) mod closure;

pub(crate) mod select;
pub(crate) mod tags;
pub(crate) mod target;
