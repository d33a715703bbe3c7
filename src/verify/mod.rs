//! (Skeleton: to be written.)
