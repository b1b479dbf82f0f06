//! `fake-spinnaker`: runs the spinnaker stand-in as a server.

fn main() {}
