//! An entity's rows on both sides with the contexts the mappings need — read as they are now
//! (optionally locked) or rebuilt from a conflict's recorded images.

use serde_json::Value as Json;
use supra_sync_core::{Row, Value};
use supra_sync_mapping::{EntityMapping, ResolvedContext};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::compare::Side;
use super::image::row_from_image;
use super::rows::{self, Identity, Schemas};
use super::{Operator, ResolveError};

/// Both rows of an entity and their mapping contexts.
pub struct EntityRows {
    /// The legacy row (`None`: no row).
    pub legacy: Option<Row>,
    /// The SUPRA row, every column (`None`: no row).
    pub supra: Option<Row>,
    forward_ctx: Option<ResolvedContext>,
    reverse_ctx: Option<ResolvedContext>,
}

/// Shapes of the tables an entity touches, per side.
pub struct EntitySchemas {
    /// Legacy tables (own, joined, children).
    pub legacy: Schemas,
    /// The primary SUPRA table.
    pub supra: Schemas,
}

impl EntitySchemas {
    /// Loads them (outside any transaction).
    pub async fn load(
        op: &Operator,
        entity: &EntityMapping,
    ) -> Result<EntitySchemas, ResolveError> {
        let mut legacy = Schemas::default();
        legacy
            .load(&op.legacy, &rows::legacy_tables(entity))
            .await?;
        let mut supra = Schemas::default();
        supra.load(&op.supra, &[&entity.supra_tables()[0]]).await?;
        Ok(EntitySchemas { legacy, supra })
    }
}

impl EntityRows {
    /// Reads both rows as they are now; `lock` takes their row locks (call inside
    /// transactions on both sides).
    #[allow(clippy::too_many_arguments)]
    pub async fn read<L: GenericClient, S: GenericClient>(
        legacy: &L,
        supra: &S,
        schemas: &EntitySchemas,
        entity: &EntityMapping,
        id: &Identity,
        tenant_id: Uuid,
        lock: bool,
    ) -> Result<EntityRows, ResolveError> {
        let l = rows::fetch(
            legacy,
            &schemas.legacy.get(entity.legacy_table())?,
            &id.legacy_filter(entity),
            lock,
        )
        .await?
        .pop();
        let s = rows::fetch(
            supra,
            &schemas.supra.get(&entity.supra_tables()[0])?,
            &id.supra_filter(entity),
            lock,
        )
        .await?
        .pop();
        Self::with_contexts(legacy, supra, schemas, entity, id, tenant_id, l, s).await
    }

    /// Rebuilds both rows from recorded images (a conflict's `legacy_data` / `supra_data`).
    #[allow(clippy::too_many_arguments)]
    pub async fn recorded<L: GenericClient, S: GenericClient>(
        legacy: &L,
        supra: &S,
        schemas: &EntitySchemas,
        entity: &EntityMapping,
        id: &Identity,
        tenant_id: Uuid,
        legacy_image: Option<&Json>,
        supra_image: Option<&Json>,
    ) -> Result<EntityRows, ResolveError> {
        let l = match legacy_image {
            Some(image) => Some(row_from_image(
                &schemas.legacy.get(entity.legacy_table())?,
                image,
                &[],
            )),
            None => None,
        };
        let mut fill = vec![(entity.supra_id_column(), Value::Uuid(id.supra_id))];
        if let Some(t) = entity.tenant_column() {
            fill.push((t, Value::Uuid(tenant_id)));
        }
        let s = match supra_image {
            Some(image) => Some(row_from_image(
                &schemas.supra.get(&entity.supra_tables()[0])?,
                image,
                &fill,
            )),
            None => None,
        };
        Self::with_contexts(legacy, supra, schemas, entity, id, tenant_id, l, s).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn with_contexts<L: GenericClient, S: GenericClient>(
        legacy: &L,
        supra: &S,
        schemas: &EntitySchemas,
        entity: &EntityMapping,
        id: &Identity,
        tenant_id: Uuid,
        l: Option<Row>,
        s: Option<Row>,
    ) -> Result<EntityRows, ResolveError> {
        let forward_ctx = match &l {
            Some(row) => Some(
                rows::forward_context(legacy, &schemas.legacy, supra, entity, row, id, tenant_id)
                    .await?,
            ),
            None => None,
        };
        let reverse_ctx = match &s {
            Some(row) => Some(rows::reverse_context(supra, entity, row, id, tenant_id).await?),
            None => None,
        };
        Ok(EntityRows {
            legacy: l,
            supra: s,
            forward_ctx,
            reverse_ctx,
        })
    }

    /// The legacy row with its forward context.
    pub fn legacy_side(&self) -> Option<Side<'_>> {
        Some(Side {
            row: self.legacy.as_ref()?,
            ctx: self.forward_ctx.as_ref()?,
        })
    }

    /// The SUPRA row with its reverse context.
    pub fn supra_side(&self) -> Option<Side<'_>> {
        Some(Side {
            row: self.supra.as_ref()?,
            ctx: self.reverse_ctx.as_ref()?,
        })
    }

    /// The forward context (for evaluating other legacy images of the same entity).
    pub fn forward_ctx(&self) -> Option<&ResolvedContext> {
        self.forward_ctx.as_ref()
    }

    /// The reverse context.
    pub fn reverse_ctx(&self) -> Option<&ResolvedContext> {
        self.reverse_ctx.as_ref()
    }
}
