//! `conflicts list / show / resolve` through the binary.

use crate::support::{Env, count, drain, one, two_conflicts};

async fn id_of(supra: &tokio_postgres::Client, key: &str) -> String {
    one(
        supra,
        &format!("SELECT id::text FROM supra_sync.sync_conflicts WHERE entity_id = '{key}'"),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn list_show_resolve_and_bulk_resolve_conflicts() {
    let env = Env::new().await;
    let (legacy, supra) = two_conflicts(&env).await;
    let first = id_of(&supra, "1").await;
    let phones = || async {
        (
            one(
                &legacy,
                "SELECT string_agg(prstelef, ',' ORDER BY prsid) FROM cf_quere_pro.persona",
            )
            .await,
            one(
                &supra,
                "SELECT string_agg(phone, ',' ORDER BY first_name) FROM persons",
            )
            .await,
        )
    };
    let before = phones().await;

    // list: a table by default, JSON for scripts, filters, pagination.
    let out = env.cli(&["conflicts", "list"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ID "), "{out:?}");
    assert!(
        out.stdout.contains(&first) && out.stdout.contains("concurrent_update"),
        "{out:?}"
    );
    assert!(out.stdout.contains("2 conflict(s)"), "{out:?}");
    let out = env
        .cli(&[
            "conflicts",
            "list",
            "--json",
            "--limit",
            "1",
            "--offset",
            "1",
        ])
        .await;
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["total"], 2);
    assert_eq!(doc["conflicts"].as_array().unwrap().len(), 1);
    assert_eq!(doc["conflicts"][0]["entity_id"], "2");
    let out = env
        .cli(&["conflicts", "list", "--entity", "contrato"])
        .await;
    assert!(out.stdout.contains("no open conflicts match"), "{out:?}");
    let out = env.cli(&["conflicts", "list", "--older-than", "1h"]).await;
    assert!(out.stdout.contains("no open conflicts match"), "{out:?}");

    // show: both versions in both schemas' names; a marker on what differs (no colour: not
    // a terminal).
    let out = env.cli(&["conflicts", "show", &first[..8]]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stdout.contains('\x1b'),
        "no ANSI colour off a terminal"
    );
    let line = |column: &str| {
        out.stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.first() == Some(&column) || w.get(1) == Some(&column))
            .unwrap_or_else(|| panic!("no line for {column:?} in\n{}", out.stdout))
    };
    assert_eq!(
        line("phone"),
        [
            "*",
            "phone",
            "prstelef",
            "4421111101",
            "4429999901",
            "4420000001"
        ]
    );
    assert_eq!(
        line("prstelef"),
        [
            "*",
            "prstelef",
            "phone",
            "4421111101",
            "4429999901",
            "4420000001"
        ]
    );
    assert_eq!(
        line("first_name")[..3],
        ["first_name", "prsnombre", "Lucía"]
    );
    assert_eq!(
        line("rfc")[..2],
        ["rfc", "prsnif"],
        "relations found even for NULL values"
    );
    assert_eq!(
        line("created_at")[..4],
        ["~", "created_at", "prsfecreg", "(time"]
    );
    assert!(out.stdout.contains("last synced: sync_log #"), "{out:?}");
    let out = env.cli(&["conflicts", "show", &first, "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["conflict"]["status"], "open");

    // Bad input changes nothing.
    for (args, message) in [
        (
            vec!["conflicts", "resolve", "zz", "--legacy-wins"],
            "is not a conflict id",
        ),
        (
            vec![
                "conflicts",
                "resolve",
                "00000000-0000-0000-0000-000000000000",
                "--legacy-wins",
            ],
            "does not exist",
        ),
        (
            vec!["conflicts", "resolve", &first, "--merge", "phone=both"],
            "malformed merge specification",
        ),
        (
            vec!["conflicts", "resolve", &first, "--merge", "nickname=supra"],
            "nickname is not a SUPRA column",
        ),
        (
            vec!["conflicts", "resolve", &first],
            "the following required arguments were not provided",
        ),
        (
            vec!["conflicts", "resolve", "--legacy-wins"],
            "give a conflict id",
        ),
    ] {
        let out = env.cli(&args).await;
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {out:?}");
    }
    assert_eq!(phones().await, before);

    // A dry run prints the effect and changes nothing.
    let out = env
        .cli(&["conflicts", "resolve", &first, "--supra-wins", "--dry-run"])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("dry run — nothing was changed"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("INSERT INTO \"cf_quere_pro\".\"persona\""),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("prstelef: 4421111101 → 4429999901"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("resolved_by = 'operator-test'"),
        "{out:?}"
    );
    assert_eq!(phones().await, before);

    // Resolve one: both databases hold the SUPRA version; the held change is released.
    let out = env
        .cli(&[
            "conflicts",
            "resolve",
            &first,
            "--supra-wins",
            "--by",
            "alice",
            "--note",
            "customer called",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("resolved") && out.stdout.contains("1 superseded"),
        "{out:?}"
    );
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4429999901")
    );
    let row = supra
        .query_one("SELECT status::text, resolution::text, resolved_by, held_changes FROM supra_sync.sync_conflicts WHERE id::text = $1", &[&first])
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            row.get::<_, i32>(3)
        ),
        ("resolved".into(), "supra_wins".into(), "alice".into(), 0)
    );
    let out = env
        .cli(&["conflicts", "resolve", &first, "--legacy-wins"])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("is already resolved (supra_wins) by alice"),
        "{out:?}"
    );

    // Bulk: refused without confirmation (no terminal), done with --yes.
    let out = env
        .cli(&[
            "conflicts",
            "resolve",
            "--entity",
            "persona",
            "--legacy-wins",
        ])
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("without confirmation") && out.stderr.contains("--yes"),
        "{out:?}"
    );
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_conflicts WHERE status = 'open'"
        )
        .await,
        1
    );
    let out = env
        .cli(&[
            "conflicts",
            "resolve",
            "--entity",
            "persona",
            "--legacy-wins",
            "--yes",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_conflicts WHERE status = 'open'"
        )
        .await,
        0
    );
    assert_eq!(
        one(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Pedro'"
        )
        .await
        .as_deref(),
        Some("4421111102")
    );
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 2"
        )
        .await
        .as_deref(),
        Some("4421111102")
    );

    // No echo: both sources run past the resolutions; no new log rows for either person.
    let logged = count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id IN ('1', '2')",
    )
    .await;
    drain(&env, &legacy, &supra, 90).await;
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id IN ('1', '2')"
        )
        .await,
        logged
    );
    let out = env
        .cli(&["conflicts", "list", "--status", "resolved"])
        .await;
    assert!(out.stdout.contains("2 conflict(s)"), "{out:?}");
    env.teardown().await;
}
