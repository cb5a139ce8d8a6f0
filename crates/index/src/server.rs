//! The Qdrant server backend (`QDRANT_URL`): one collection shared by every organization and every worker,
//! with the same points, payloads and filters as the embedded shard. The collection is created on first use
//! with the sparse vector (IDF modifier), the dense vector when configured, and the payload indexes
//! (`org_id` as the tenant key).

use crate::{
    Conditions, IndexError, IndexResult, KEYWORD_FIELDS, Nearest, ORG_ID, PointData, SPARSE,
    Scored, Subject, backend, chunk_of, dense_name,
};
use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    self, Condition, CountPointsBuilder, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance, FieldType, Filter,
    IdfParamsBuilder, KeywordIndexParamsBuilder, Modifier, PointStruct, QueryPointsBuilder,
    SearchParamsBuilder, SparseVectorParamsBuilder, SparseVectorsConfigBuilder,
    UpsertPointsBuilder, VectorInput, VectorParamsBuilder, VectorsConfigBuilder,
};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// A Qdrant server's collection.
#[derive(Clone)]
pub struct ServerIndex {
    client: Qdrant,
    collection: String,
    dense_dims: Option<usize>,
}

impl ServerIndex {
    /// Connects to `url` (gRPC, e.g. `http://qdrant:6334`) and makes sure `collection` exists with the
    /// vectors and payload indexes this index needs.
    pub async fn open(
        url: &str,
        api_key: Option<String>,
        collection: &str,
        dense_dims: Option<usize>,
    ) -> IndexResult<Self> {
        let client = Qdrant::from_url(url)
            .api_key(api_key)
            .timeout(Duration::from_secs(10))
            .skip_compatibility_check()
            .build()
            .map_err(backend)?;
        let index = ServerIndex {
            client,
            collection: collection.to_owned(),
            dense_dims,
        };
        index.prepare().await?;
        Ok(index)
    }

    async fn prepare(&self) -> IndexResult<()> {
        let exists = self
            .client
            .collection_exists(&self.collection)
            .await
            .map_err(backend)?;
        if !exists {
            let mut sparse = SparseVectorsConfigBuilder::default();
            sparse.add_named_vector_params(
                SPARSE,
                SparseVectorParamsBuilder::default().modifier(Modifier::Idf as i32),
            );
            let mut create =
                CreateCollectionBuilder::new(&self.collection).sparse_vectors_config(sparse);
            if let Some(dims) = self.dense_dims {
                let mut dense = VectorsConfigBuilder::default();
                dense.add_named_vector_params(
                    dense_name(dims),
                    VectorParamsBuilder::new(dims as u64, Distance::Cosine),
                );
                create = create.vectors_config(dense);
            }
            if let Err(e) = self.client.create_collection(create).await {
                // Another worker may have created it meanwhile.
                if !self
                    .client
                    .collection_exists(&self.collection)
                    .await
                    .map_err(backend)?
                {
                    return Err(backend(e));
                }
            }
        }
        if let Some(dims) = self.dense_dims {
            let info = self
                .client
                .collection_info(&self.collection)
                .await
                .map_err(backend)?;
            let has_dense = info
                .result
                .and_then(|r| r.config)
                .and_then(|c| c.params)
                .and_then(|p| p.vectors_config)
                .and_then(|v| v.config)
                .is_some_and(|c| match c {
                    qdrant::vectors_config::Config::ParamsMap(m) => {
                        m.map.contains_key(&dense_name(dims))
                    }
                    qdrant::vectors_config::Config::Params(_) => false,
                });
            if !has_dense {
                return Err(IndexError::Backend(format!(
                    "the collection {} has no {}-dimension dense vector; create a new collection \
                     (INSIGHTS_QDRANT_COLLECTION) for this embeddings model",
                    self.collection, dims
                )));
            }
        }
        self.client
            .create_field_index(
                CreateFieldIndexCollectionBuilder::new(
                    &self.collection,
                    ORG_ID,
                    FieldType::Keyword,
                )
                .field_index_params(KeywordIndexParamsBuilder::default().is_tenant(true))
                .wait(true),
            )
            .await
            .map_err(backend)?;
        for field in KEYWORD_FIELDS {
            self.client
                .create_field_index(
                    CreateFieldIndexCollectionBuilder::new(
                        &self.collection,
                        *field,
                        FieldType::Keyword,
                    )
                    .wait(true),
                )
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    #[must_use]
    pub fn dense_dims(&self) -> Option<usize> {
        self.dense_dims
    }

    pub(crate) async fn replace(
        &self,
        org: Uuid,
        subject: Subject,
        points: Vec<PointData>,
    ) -> IndexResult<()> {
        let ids: Vec<Uuid> = points.iter().map(|p| p.id).collect();
        if !points.is_empty() {
            let points = points
                .into_iter()
                .map(|p| self.point(p))
                .collect::<IndexResult<Vec<_>>>()?;
            self.client
                .upsert_points(UpsertPointsBuilder::new(&self.collection, points).wait(true))
                .await
                .map_err(backend)?;
        }
        let mut stale = filter(&Conditions::subject(org, subject));
        if !ids.is_empty() {
            stale.must_not.push(Condition::has_id(
                ids.iter().map(|id| qdrant::PointId::from(id.to_string())),
            ));
        }
        self.client
            .delete_points(
                DeletePointsBuilder::new(&self.collection)
                    .points(stale)
                    .wait(true),
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    fn point(&self, p: PointData) -> IndexResult<PointStruct> {
        let mut vectors: HashMap<String, qdrant::Vector> = HashMap::new();
        vectors.insert(
            SPARSE.to_owned(),
            qdrant::Vector::new_sparse(p.sparse.indices, p.sparse.values),
        );
        if let Some(d) = p.dense {
            if self.dense_dims != Some(d.len()) {
                return Err(IndexError::Dimensions {
                    expected: self.dense_dims,
                    got: d.len(),
                });
            }
            vectors.insert(dense_name(d.len()), qdrant::Vector::from(d));
        }
        let payload: HashMap<String, qdrant::Value> = p
            .payload
            .into_iter()
            .map(|(k, v)| (k, to_value(v)))
            .collect();
        Ok(PointStruct::new(
            p.id.to_string(),
            vectors,
            qdrant_client::Payload::from(payload),
        ))
    }

    pub(crate) async fn delete(&self, conditions: Conditions) -> IndexResult<()> {
        self.client
            .delete_points(
                DeletePointsBuilder::new(&self.collection)
                    .points(filter(&conditions))
                    .wait(true),
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(crate) async fn count(&self, conditions: Conditions) -> IndexResult<usize> {
        let r = self
            .client
            .count(
                CountPointsBuilder::new(&self.collection)
                    .filter(filter(&conditions))
                    .exact(true),
            )
            .await
            .map_err(backend)?;
        Ok(r.result
            .map_or(0, |c| usize::try_from(c.count).unwrap_or(usize::MAX)))
    }

    pub(crate) async fn nearest(
        &self,
        org: Uuid,
        conditions: &Conditions,
        query: Nearest<'_>,
        limit: usize,
    ) -> IndexResult<Vec<Scored>> {
        let mut request = QueryPointsBuilder::new(&self.collection)
            .filter(filter(conditions))
            .limit(limit as u64)
            .with_payload(true);
        request = match query {
            Nearest::Sparse(s) => request
                .query(VectorInput::new_sparse(s.indices.clone(), s.values.clone()))
                .using(SPARSE)
                .params(
                    SearchParamsBuilder::default()
                        .idf(IdfParamsBuilder::new().corpus(filter(&Conditions::org(org)))),
                ),
            Nearest::Dense(d) => {
                let dims = self.dense_dims.ok_or(IndexError::Dimensions {
                    expected: None,
                    got: d.len(),
                })?;
                request
                    .query(VectorInput::new_dense(d.to_vec()))
                    .using(dense_name(dims))
            }
        };
        let r = self.client.query(request).await.map_err(backend)?;
        r.result
            .into_iter()
            .filter_map(|p| {
                let id = match p.id?.point_id_options? {
                    qdrant::point_id::PointIdOptions::Uuid(u) => Uuid::parse_str(&u).ok()?,
                    qdrant::point_id::PointIdOptions::Num(_) => return None,
                };
                let payload: serde_json::Map<String, Json> = p
                    .payload
                    .into_iter()
                    .map(|(k, v)| (k, from_value(v)))
                    .collect();
                Some(chunk_of(&payload).map(|c| (id, p.score, c)))
            })
            .collect()
    }
}

fn filter(conditions: &Conditions) -> Filter {
    let cond = |(key, any): &(&str, Vec<String>)| {
        if any.len() == 1 {
            Condition::matches(*key, any[0].clone())
        } else {
            Condition::matches(*key, any.clone())
        }
    };
    Filter {
        must: conditions.must.iter().map(cond).collect(),
        must_not: conditions.must_not.iter().map(cond).collect(),
        ..Filter::default()
    }
}

fn to_value(v: Json) -> qdrant::Value {
    use qdrant::value::Kind;
    let kind = match v {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Kind::IntegerValue(i),
            None => Kind::DoubleValue(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Kind::StringValue(s),
        Json::Array(a) => Kind::ListValue(qdrant::ListValue {
            values: a.into_iter().map(to_value).collect(),
        }),
        Json::Object(o) => Kind::StructValue(qdrant::Struct {
            fields: o.into_iter().map(|(k, v)| (k, to_value(v))).collect(),
        }),
    };
    qdrant::Value { kind: Some(kind) }
}

fn from_value(v: qdrant::Value) -> Json {
    use qdrant::value::Kind;
    match v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(b),
        Some(Kind::IntegerValue(i)) => Json::from(i),
        Some(Kind::DoubleValue(d)) => {
            serde_json::Number::from_f64(d).map_or(Json::Null, Json::Number)
        }
        Some(Kind::StringValue(s)) => Json::String(s),
        Some(Kind::ListValue(l)) => Json::Array(l.values.into_iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => Json::Object(
            s.fields
                .into_iter()
                .map(|(k, v)| (k, from_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_values_survive_the_round_trip() {
        let v = serde_json::json!({"a": [1, "x", null, true, 2.5], "b": {"c": "d"}});
        assert_eq!(from_value(to_value(v.clone())), v);
    }
}
