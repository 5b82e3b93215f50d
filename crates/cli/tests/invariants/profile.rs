//! Temporary: time the verifier per entity.
use std::time::Instant;

use supra_sync_engine::verify;
use supra_sync_testkit::{legacy, supra};

use crate::support::{Env, TENANT, caught_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn profile_verify() {
    let env = Env::new(legacy(), supra(), 100).await;
    let mut service = env.start(&[]);
    caught_up(&env, &mut service).await;
    let l = env.legacy().await;
    let s = env.supra().await;
    let t = Instant::now();
    for e in env.mappings.entities() {
        let t0 = Instant::now();
        let r = verify::compare(&l, &s, &env.mappings, TENANT, &[e.name().to_string()])
            .await
            .unwrap();
        eprintln!(
            "{:>20} {:>8?} rows {}",
            e.name(),
            t0.elapsed(),
            r[0].legacy_rows
        );
    }
    eprintln!("all single: {:?}", t.elapsed());
    let t = Instant::now();
    verify::compare(&l, &s, &env.mappings, TENANT, &[])
        .await
        .unwrap();
    eprintln!("all at once: {:?}", t.elapsed());
    service.stop().await;
    env.teardown().await;
}
