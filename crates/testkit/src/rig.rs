//! The rig of real components (issue 2 fills this in).
