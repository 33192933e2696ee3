//! The C ABI of SGAPS (see include/sgaps.h).
