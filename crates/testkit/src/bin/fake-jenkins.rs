//! `fake-jenkins`: runs the jenkins stand-in as a server.

fn main() {}
