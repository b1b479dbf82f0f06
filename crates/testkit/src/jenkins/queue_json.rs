//! Queue documents: `/queue/item/N/api/json` and `/queue/api/json`, in the shapes of
//! `Queue$WaitingItem`, `$BlockedItem`, `$BuildableItem` and `$LeftItem`.

use serde_json::{Value, json};

use super::json::Render;
use super::state::{Item, ItemState};

impl Render<'_> {
    /// `/queue/item/N/api/json`.
    pub fn item(&self, item: &Item) -> Value {
        let now = self.state.sim_now;
        let job = self.state.jobs.get(&item.job);
        let params: String = item
            .params
            .iter()
            .map(|(k, v)| format!("\n{k}={v}"))
            .collect();
        let mut v = json!({
            "actions": Self::actions(&item.params, item.parameterized, job, &item.causes),
            "blocked": false,
            "buildable": false,
            "id": item.id,
            "inQueueSince": self.epoch(item.in_queue_since),
            "params": params,
            "stuck": false,
            "task": self.task(&item.job),
            "url": format!("queue/item/{}/", item.id),
            "why": null,
        });
        let obj = v.as_object_mut().expect("json! object");
        if let Some(left) = &item.left {
            obj.insert("_class".into(), json!("hudson.model.Queue$LeftItem"));
            obj.insert("cancelled".into(), json!(left.cancelled));
            let exe = left.build.map(|n| {
                json!({"_class": "hudson.model.FreeStyleBuild", "number": n,
                       "url": format!("{}{}/", self.job_url(&item.job), n)})
            });
            obj.insert("executable".into(), exe.unwrap_or(Value::Null));
            return v;
        }
        let buildable_since = item.buildable_since.map(|t| self.epoch(t));
        match item.state {
            ItemState::Waiting => {
                let left = item.due.saturating_sub(now);
                obj.insert("_class".into(), json!("hudson.model.Queue$WaitingItem"));
                obj.insert("timestamp".into(), json!(self.epoch(item.due)));
                obj.insert(
                    "why".into(),
                    json!(format!(
                        "In the quiet period. Expires in {:.1} sec",
                        left.as_secs_f64()
                    )),
                );
            }
            ItemState::Blocked => {
                let running = job.and_then(|j| j.builds.iter().find(|b| !b.finished));
                let why = running.map_or_else(
                    || "Waiting for the previous build".to_owned(),
                    |b| {
                        let eta = b.end.saturating_sub(now).as_secs();
                        format!("Build #{} is already in progress (ETA:{eta} sec)", b.number)
                    },
                );
                obj.insert("_class".into(), json!("hudson.model.Queue$BlockedItem"));
                obj.insert("blocked".into(), json!(true));
                obj.insert("why".into(), json!(why));
                obj.insert("buildableStartMilliseconds".into(), json!(buildable_since));
            }
            ItemState::Buildable => {
                obj.insert("_class".into(), json!("hudson.model.Queue$BuildableItem"));
                obj.insert("buildable".into(), json!(true));
                obj.insert("pending".into(), json!(false));
                obj.insert("why".into(), json!("Waiting for next available executor"));
                obj.insert("buildableStartMilliseconds".into(), json!(buildable_since));
            }
        }
        v
    }

    /// `/queue/api/json`.
    pub fn queue(&self) -> Value {
        let items: Vec<Value> = self
            .state
            .items
            .values()
            .filter(|i| i.left.is_none())
            .map(|i| self.item(i))
            .collect();
        json!({"_class": "hudson.model.Queue", "discoverableItems": [], "items": items})
    }
}
