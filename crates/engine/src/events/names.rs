//! Aggregate names of domain events, from the SUPRA table an entity writes: the singular,
//! in snake_case for `aggregate_type` and in PascalCase for `event_type`.

/// (`aggregate_type`, PascalCase name) of a SUPRA table: `meter_readings` →
/// (`meter_reading`, `MeterReading`), `explotaciones` → (`explotacion`, `Explotacion`).
pub fn aggregate_names(table: &str) -> (String, String) {
    let mut words: Vec<String> = table.split('_').map(str::to_string).collect();
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    let pascal = words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    (words.join("_"), pascal)
}

fn singular(word: &str) -> String {
    for (plural, single) in [("ies", "y"), ("sses", "ss"), ("ones", "on"), ("s", "")] {
        if let Some(stem) = word.strip_suffix(plural).filter(|s| !s.is_empty()) {
            return format!("{stem}{single}");
        }
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_names_of_the_supra_tables() {
        let names: Vec<(String, String)> = [
            "persons",
            "contracts",
            "addresses",
            "explotaciones",
            "meter_readings",
            "tariff_schedules",
            "tomas",
            "domain_values",
            "work_orders",
            "invoice_lines",
            "policies",
        ]
        .iter()
        .map(|t| aggregate_names(t))
        .collect();
        let pascal: Vec<&str> = names.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            pascal,
            [
                "Person",
                "Contract",
                "Address",
                "Explotacion",
                "MeterReading",
                "TariffSchedule",
                "Toma",
                "DomainValue",
                "WorkOrder",
                "InvoiceLine",
                "Policy"
            ]
        );
        assert_eq!(names[4].0, "meter_reading");
    }
}
