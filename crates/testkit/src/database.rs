//! Fresh databases per test, optionally cloned from a template built once.

use std::future::Future;
use std::sync::atomic::Ordering;

use crate::{Cluster, TestkitError};

/// A database created for one test. It lives until the cluster goes away.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Database name.
    pub name: String,
    /// Server port.
    pub port: u16,
    /// libpq-style connection string.
    pub connection_string: String,
    /// URL-style connection string.
    pub url: String,
}

impl TestDatabase {
    /// Connects to the database.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, TestkitError> {
        let (client, connection) =
            tokio_postgres::connect(&self.connection_string, tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}

impl Cluster {
    fn unique_name(&self, prefix: &str) -> String {
        let n = self.next_db.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}_{}_{n}", std::process::id())
    }

    fn database(&self, name: String) -> TestDatabase {
        TestDatabase {
            port: self.port(),
            connection_string: self.connection_string(&name),
            url: self.url(&name),
            name,
        }
    }

    /// Creates an empty database with a unique name.
    pub async fn fresh_database(&self, prefix: &str) -> Result<TestDatabase, TestkitError> {
        let name = self.unique_name(prefix);
        let admin = self.connect("postgres").await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(self.database(name))
    }

    /// Creates a database cloned from the template `template`, which `init` builds on first
    /// use (once per cluster). Use it for schemas that are slow to build (migrations).
    pub async fn fresh_database_from<F, Fut>(
        &self,
        template: &str,
        init: F,
    ) -> Result<TestDatabase, TestkitError>
    where
        F: FnOnce(TestDatabase) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        // Holding the lock serialises clones: CREATE DATABASE … TEMPLATE needs the template
        // to have no other sessions.
        let mut templates = self.templates.lock().await;
        let template_name = match templates.get(template) {
            Some(name) => name.clone(),
            None => {
                let db = self.fresh_database(&format!("tpl_{template}")).await?;
                init(db.clone())
                    .await
                    .map_err(|detail| TestkitError::Command {
                        program: format!("template {template} init"),
                        detail,
                    })?;
                templates.insert(template.to_string(), db.name.clone());
                db.name
            }
        };
        let name = self.unique_name(template);
        let admin = self.connect("postgres").await?;
        admin
            .batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template_name}\""
            ))
            .await?;
        Ok(self.database(name))
    }
}
