//! From a change to a delivery: the chart and image flows end to end on the rig, the outbox
//! and its deliverers and follower, the state store on both backends, promotion, delivery
//! verification and notifications, and scale properties.
//!
//! One test binary per area (api, cli, delivery, serve, dashboard); the shared harness is the
//! `baton-harness` crate.

mod deliver_follow;
mod deliver_jenkins;
mod deliver_spinnaker;
mod flow_chart;
mod flow_first_seen;
mod flow_image;
mod flow_triggers;
mod outbox_worker;
mod promote;
mod scale;
mod scale_turns;
mod store;
mod verify_notify;
