//! Down to the document: which invoices (payments) make a period differ.
//!
//! ```text
//!  SUPRA documents of the differing periods (by number) ◄─► legacy documents of those
//!  periods, or whose number SUPRA holds there ─► amount differs · period differs ·
//!  missing in SUPRA (looked up in every period first) · missing in legacy
//! ```

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;
use supra_sync_core::TableName;

use super::{Check, Doc, FinanceDiff, decimal, legacy_pages};
use crate::EngineError;
use crate::reconcile::rows::Scanner;

/// The documents behind the periods that differ.
pub(super) async fn drill_down(
    scanner: &mut Scanner<'_>,
    check: Check,
    table: &TableName,
    bad: &BTreeSet<String>,
) -> Result<Vec<FinanceDiff>, EngineError> {
    let sql = format!(
        "SELECT {n}, {p}, {a}::text FROM {t} WHERE tenant_id = $1 AND COALESCE({p}, '(none)') = ANY($2)",
        n = check.supra_number,
        p = check.supra_period,
        a = check.supra_amount,
        t = check.supra_table
    );
    let tenant = scanner.tenant_id();
    let bad_list: Vec<String> = bad.iter().cloned().collect();
    let mut supra: HashMap<String, (Option<String>, Decimal)> = HashMap::new();
    for r in scanner
        .supra()
        .query(&sql, &[&tenant, &bad_list])
        .await
        .map_err(|e| EngineError::sql("reconcile: documents of differing periods", e))?
    {
        supra.insert(r.get(0), (r.get(1), decimal(&r.get::<_, String>(2))?));
    }
    let mut legacy: Vec<Doc> = Vec::new();
    legacy_pages(scanner, table, |doc| {
        if bad.contains(doc.1.as_deref().unwrap_or("(none)")) || supra.contains_key(&doc.0) {
            legacy.push(doc);
        }
    })
    .await?;
    let mut out = Vec::new();
    let mut unmatched: Vec<Doc> = Vec::new();
    for (number, period, amount) in legacy {
        match supra.remove(&number) {
            Some((sp, sa)) if sp == period && sa == amount => {}
            Some((sp, sa)) => out.push(FinanceDiff {
                detail: if sa != amount {
                    format!(
                        "amount: legacy {amount}, SUPRA {sa} (off by {})",
                        sa - amount
                    )
                } else {
                    "period differs".into()
                },
                number,
                legacy_period: period,
                legacy_amount: Some(amount),
                supra_period: sp,
                supra_amount: Some(sa),
            }),
            None => unmatched.push((number, period, amount)),
        }
    }
    // Legacy documents of a differing period not found there in SUPRA: elsewhere, or absent.
    let numbers: Vec<&str> = unmatched.iter().map(|u| u.0.as_str()).collect();
    let elsewhere: HashMap<String, (Option<String>, String)> = scanner
        .supra()
        .query(
            &format!(
                "SELECT {n}, {p}, {a}::text FROM {t} WHERE tenant_id = $1 AND {n} = ANY($2)",
                n = check.supra_number,
                p = check.supra_period,
                a = check.supra_amount,
                t = check.supra_table
            ),
            &[&tenant, &numbers],
        )
        .await
        .map_err(|e| EngineError::sql("reconcile: locating documents", e))?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    for (number, period, amount) in unmatched {
        let found = elsewhere.get(&number);
        out.push(FinanceDiff {
            detail: match found {
                Some((p, _)) => {
                    format!("in SUPRA under period {}", p.as_deref().unwrap_or("(none)"))
                }
                None => "missing in SUPRA".into(),
            },
            legacy_period: period,
            legacy_amount: Some(amount),
            supra_period: found.and_then(|(p, _)| p.clone()),
            supra_amount: found.map(|(_, a)| decimal(a)).transpose()?,
            number,
        });
    }
    // SUPRA documents of a differing period that legacy does not have.
    let mut rest: Vec<(String, (Option<String>, Decimal))> = supra.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (number, (period, amount)) in rest {
        out.push(FinanceDiff {
            number,
            legacy_period: None,
            legacy_amount: None,
            supra_period: period,
            supra_amount: Some(amount),
            detail: "missing in legacy".into(),
        });
    }
    out.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(out)
}
