//! Spinnaker stand-in (issue 4 fills this in).
