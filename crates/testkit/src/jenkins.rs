//! Jenkins stand-in (issue 3 fills this in).
