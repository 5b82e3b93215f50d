//! Financial reconciliation (seed 003 Appendix C): invoice count and total per billing
//! period, payment count and total per period — with exact equality instead of the seed's
//! 0.01 % tolerance, and every difference listed down to the document.
//!
//! ```text
//!  legacy (keyset pages, rate limited)            SUPRA (one aggregate query)
//!  period + legacy_money(amount) per row ──► Σ per period ◄── GROUP BY period: count, sum
//!                  periods that differ ──► drill down: documents of those periods, by number
//!                                          missing · missing in legacy · amount · period
//! ```
//!
//! Amounts are converted exactly as the mappings convert them (`legacy_money`: the decimal
//! the legacy double meant, rounded half away from zero to centavos) and summed as decimals;
//! periods follow the mappings too (an invoice's `facperiodo`, else the month of
//! `facfecfact`; a payment's local month of `ocgfecha`). A document is matched by its number
//! (`invoice_number` = `facid`, `payment_number` = `ocgid`), independently of the bookkeeping.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;
use supra_sync_core::{Row, TableName, Value};
use supra_sync_mapping::EntityMapping;
use supra_sync_mapping::builtins::{money, time};

mod drill;

use super::ReconcileOptions;
use super::rows::Scanner;
use crate::EngineError;

/// One financial check.
#[derive(Debug, Clone, Copy)]
pub(super) struct Check {
    /// Name (`reconcile_results.subject` is `finance:<name>`).
    pub(super) name: &'static str,
    /// Entity whose documents these are (and whose keys `--fix` re-syncs).
    pub(super) entity: &'static str,
    legacy_table: &'static str,
    supra_table: &'static str,
    supra_number: &'static str,
    supra_period: &'static str,
    supra_amount: &'static str,
    legacy_period: fn(&Row) -> Option<String>,
    legacy_amount: &'static str,
}

fn month(v: &Value) -> Option<String> {
    match time::month_bound(v, false) {
        Ok(Value::Date(d)) => Some(d.format("%Y-%m").to_string()),
        _ => None,
    }
}

/// The invoice's billing period: `facperiodo`, else the month of `facfecfact`.
fn invoice_period(row: &Row) -> Option<String> {
    row.get("facperiodo")
        .and_then(month)
        .or_else(|| row.get("facfecfact").and_then(month))
}

/// The payment's month (legacy local time).
fn payment_period(row: &Row) -> Option<String> {
    row.get("ocgfecha").and_then(month)
}

const CHECKS: [Check; 2] = [
    Check {
        name: "invoices",
        entity: "factura",
        legacy_table: "cf_quere_pro.factura",
        supra_table: "public.invoices",
        supra_number: "invoice_number",
        supra_period: "to_char(period_start, 'YYYY-MM')",
        supra_amount: "total",
        legacy_period: invoice_period,
        legacy_amount: "factotal",
    },
    Check {
        name: "payments",
        entity: "opecargest",
        legacy_table: "cf_quere_pro.opecargest",
        supra_table: "public.payments",
        supra_number: "payment_number",
        supra_period: "to_char(payment_date AT TIME ZONE 'America/Mexico_City', 'YYYY-MM')",
        supra_amount: "amount",
        legacy_period: payment_period,
        legacy_amount: "ocgimporte",
    },
];

/// The checks to run: all when every entity is reconciled, else those of selected entities.
pub(super) fn checks_for(selected: &[&EntityMapping], all: bool) -> Vec<Check> {
    CHECKS
        .into_iter()
        .filter(|c| all || selected.iter().any(|e| e.name() == c.entity))
        .filter(|c| selected.iter().any(|e| e.name() == c.entity))
        .collect()
}

/// The reconcile subjects an entity's stage transitions depend on besides the entity.
pub fn subjects_for(entity: &str) -> Vec<String> {
    CHECKS
        .iter()
        .filter(|c| c.entity == entity)
        .map(|c| format!("finance:{}", c.name))
        .collect()
}

/// Count and total of one period on both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeriodTotals {
    /// `YYYY-MM`, or `(none)` when legacy has no date.
    pub period: String,
    /// Legacy documents.
    pub legacy_count: i64,
    /// Their total.
    pub legacy_total: Decimal,
    /// SUPRA documents.
    pub supra_count: i64,
    /// Their total.
    pub supra_total: Decimal,
}

impl PeriodTotals {
    /// Exactly equal.
    pub fn matches(&self) -> bool {
        self.legacy_count == self.supra_count && self.legacy_total == self.supra_total
    }
}

/// One document that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinanceDiff {
    /// Document number (the legacy key).
    pub number: String,
    /// Legacy period, if the document is in legacy.
    pub legacy_period: Option<String>,
    /// Legacy amount (as the mapping converts it).
    pub legacy_amount: Option<Decimal>,
    /// SUPRA period, if the document is in SUPRA.
    pub supra_period: Option<String>,
    /// SUPRA amount.
    pub supra_amount: Option<Decimal>,
    /// What differs.
    pub detail: String,
}

/// One financial check's result.
#[derive(Debug, Clone, Serialize)]
pub struct FinanceReport {
    /// Check name (`invoices`, `payments`).
    pub check: &'static str,
    /// Entity of the documents.
    pub entity: &'static str,
    /// Every period seen on either side.
    pub periods: Vec<PeriodTotals>,
    /// Every differing document.
    pub differences: Vec<FinanceDiff>,
}

impl FinanceReport {
    /// The sums over every period (period `all`).
    pub fn totals(&self) -> PeriodTotals {
        let mut t = PeriodTotals {
            period: "all".into(),
            ..PeriodTotals::default()
        };
        for p in &self.periods {
            t.legacy_count += p.legacy_count;
            t.legacy_total += p.legacy_total;
            t.supra_count += p.supra_count;
            t.supra_total += p.supra_total;
        }
        t
    }

    /// True when every period matches exactly.
    pub fn clean(&self) -> bool {
        self.periods.iter().all(PeriodTotals::matches) && self.differences.is_empty()
    }
}

/// A legacy document: (number, period, amount).
type Doc = (String, Option<String>, Decimal);

fn legacy_doc(check: &Check, row: &Row) -> Result<Doc, EngineError> {
    let amount = match row.get(check.legacy_amount).map(money::legacy_money) {
        Some(Ok(Value::Numeric(d))) => d,
        Some(Ok(_)) | None => Decimal::ZERO,
        Some(Err(e)) => {
            return Err(EngineError::Definite(format!(
                "{} {}: {e}",
                check.legacy_table,
                row.key_text()
            )));
        }
    };
    Ok((row.key_text(), (check.legacy_period)(row), amount))
}

/// Runs one check; when it does not match and the pipelines may be lagging, waits for them
/// and runs it again.
pub(super) async fn run(
    scanner: &mut Scanner<'_>,
    check: Check,
    opts: &ReconcileOptions,
) -> Result<FinanceReport, EngineError> {
    let report = once(scanner, check).await?;
    if report.clean() || opts.settle.is_zero() {
        return Ok(report);
    }
    super::settle::settle(
        scanner.legacy_rows.client(),
        scanner.supra(),
        &opts.names,
        opts.settle,
    )
    .await?;
    once(scanner, check).await
}

/// Runs the check named in `report` again (after `--fix`).
pub(super) async fn recheck(
    scanner: &mut Scanner<'_>,
    report: &mut FinanceReport,
    _opts: &ReconcileOptions,
) -> Result<(), EngineError> {
    if let Some(check) = CHECKS.into_iter().find(|c| c.name == report.check) {
        *report = once(scanner, check).await?;
    }
    Ok(())
}

/// The legacy keys of `entity` that financial differences ask `--fix` to re-sync.
pub(super) fn keys_to_fix(reports: &[FinanceReport], entity: &str) -> Vec<String> {
    reports
        .iter()
        .filter(|r| r.entity == entity)
        .flat_map(|r| r.differences.iter())
        .filter(|d| d.legacy_amount.is_some())
        .map(|d| d.number.clone())
        .collect()
}

async fn once(scanner: &mut Scanner<'_>, check: Check) -> Result<FinanceReport, EngineError> {
    let table = TableName::parse(check.legacy_table);
    let mut periods: BTreeMap<String, PeriodTotals> = BTreeMap::new();
    let label = |p: &Option<String>| p.clone().unwrap_or_else(|| "(none)".into());
    legacy_pages(scanner, &table, |doc| {
        let t = periods.entry(label(&doc.1)).or_default();
        t.legacy_count += 1;
        t.legacy_total += doc.2;
    })
    .await?;
    let sql = format!(
        "SELECT {p}, count(*), COALESCE(sum({a}), 0)::text FROM {t} WHERE tenant_id = $1 GROUP BY 1",
        p = check.supra_period,
        a = check.supra_amount,
        t = check.supra_table
    );
    let tenant = scanner.tenant_id();
    for r in
        scanner.supra().query(&sql, &[&tenant]).await.map_err(|e| {
            EngineError::sql(format!("reconcile: totals of {}", check.supra_table), e)
        })?
    {
        let period: Option<String> = r.get(0);
        let t = periods.entry(label(&period)).or_default();
        t.supra_count = r.get(1);
        t.supra_total = decimal(&r.get::<_, String>(2))?;
    }
    for (p, t) in periods.iter_mut() {
        t.period = p.clone();
    }
    let bad: BTreeSet<String> = periods
        .values()
        .filter(|t| !t.matches())
        .map(|t| t.period.clone())
        .collect();
    let differences = if bad.is_empty() {
        Vec::new()
    } else {
        drill::drill_down(scanner, check, &table, &bad).await?
    };
    Ok(FinanceReport {
        check: check.name,
        entity: check.entity,
        periods: periods.into_values().collect(),
        differences,
    })
}

/// Every legacy document, page by page (rate limited).
async fn legacy_pages(
    scanner: &mut Scanner<'_>,
    table: &TableName,
    mut each: impl FnMut(Doc),
) -> Result<(), EngineError> {
    let check = CHECKS
        .into_iter()
        .find(|c| c.legacy_table == table.to_string())
        .ok_or_else(|| EngineError::Definite(format!("no financial check on {table}")))?;
    let chunk = 5_000i64;
    let mut after: Option<Vec<Value>> = None;
    loop {
        scanner.pace(chunk as usize).await;
        let page = scanner
            .legacy_rows
            .page(table, after.as_deref(), chunk)
            .await?;
        scanner.count(page.len());
        for row in &page {
            each(legacy_doc(&check, row)?);
        }
        match page.last() {
            Some(last) if page.len() as i64 == chunk => {
                after = Some(last.key_values().into_iter().cloned().collect());
            }
            _ => return Ok(()),
        }
    }
}

fn decimal(text: &str) -> Result<Decimal, EngineError> {
    text.parse()
        .map_err(|e| EngineError::Definite(format!("reconcile: {text:?} is not a decimal: {e}")))
}
