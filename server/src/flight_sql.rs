//! A read-only Arrow Flight SQL endpoint over the lake's tables by name, for BI tools and
//! notebooks (any Flight SQL client: ADBC, JDBC, ODBC). The names and time travel are those of
//! `soundlake sql` (`bronze.listens`, `silver."listens@v3"`; see `lakehouse::named_tables`).
//!
//! Who may call: every call carries `Authorization: Bearer <token>`, an API token of an admin
//! or business account, or the configured admin token; anything else is refused before the
//! call does any work.
//!
//! Statements are stateless: `GetFlightInfo` plans the query and answers with its schema and a
//! ticket holding the statement; `DoGet` checks the caller again, plans it again and streams
//! the rows. A ticket therefore grants nothing a statement would not, and any instance can
//! answer either call. At most [`CONCURRENT_QUERIES`] queries run at once.

use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightServiceServer;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetSqlInfo, CommandGetTableTypes,
    CommandGetTables, CommandStatementQuery, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::{Stream, StreamExt, TryStreamExt};
use lakehouse::lake_info::TABLES;
use lakehouse::{Lake, named_tables};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::accounts::Role;
use crate::auth::{AuthState, identify_caller};
use crate::infra::shutdown::Shutdown;

/// Queries running at once at most; more wait their turn.
pub const CONCURRENT_QUERIES: usize = 4;
/// The longest statement taken.
const MAX_STATEMENT_BYTES: usize = 100_000;

type DataStream = Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send>>;

/// The endpoint's service: the lake it reads and how it checks callers.
pub struct LakeFlightSql {
    lake: Lake,
    auth: AuthState,
    sql_info: Arc<SqlInfoData>,
    running: Arc<Semaphore>,
}

impl LakeFlightSql {
    pub fn new(lake: Lake, auth: AuthState) -> Self {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "soundlake");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "59");
        info.append(SqlInfo::FlightSqlServerReadOnly, true);
        Self {
            lake,
            auth,
            sql_info: Arc::new(info.build().expect("valid SQL info")),
            running: Arc::new(Semaphore::new(CONCURRENT_QUERIES)),
        }
    }

    /// Refuses callers other than admins and business users.
    async fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let headers = request.metadata().clone().into_headers();
        let caller = identify_caller(&self.auth, &headers)
            .await
            .map_err(status_of)?;
        caller
            .require(&[Role::Admin, Role::Business])
            .map(|_| ())
            .map_err(status_of)
    }

    /// Plans `sql` (read-only) without running it.
    async fn plan(&self, sql: &str) -> Result<datafusion::dataframe::DataFrame, Status> {
        if sql.len() > MAX_STATEMENT_BYTES {
            return Err(Status::invalid_argument(format!(
                "the statement is longer than {MAX_STATEMENT_BYTES} bytes"
            )));
        }
        named_tables::plan(&self.lake, sql)
            .await
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }
}

/// An API error as a gRPC status.
fn status_of(error: crate::error::ApiError) -> Status {
    match error.status.as_u16() {
        401 => Status::unauthenticated(error.message),
        403 => Status::permission_denied(error.message),
        503 => Status::unavailable(error.message),
        _ => Status::internal(error.message),
    }
}

/// The answer to `request`: rows of `schema`, at one endpoint whose ticket is `command`.
fn flight_info(
    schema: &SchemaRef,
    command: &impl ProstMessageExt,
    request: Request<FlightDescriptor>,
) -> Result<Response<FlightInfo>, Status> {
    let ticket = Ticket::new(command.as_any().encode_to_vec());
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(format!("encoding the schema: {e}")))?
        .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
        .with_descriptor(request.into_inner());
    Ok(Response::new(info))
}

/// One batch as a Flight data stream.
fn one_batch(schema: SchemaRef, batch: Result<RecordBatch, FlightError>) -> DataStream {
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async { batch }))
        .map_err(Status::from);
    Box::pin(stream)
}

#[tonic::async_trait]
impl FlightSqlService for LakeFlightSql {
    type FlightService = LakeFlightSql;

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request).await?;
        let frame = self.plan(&query.query).await?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        flight_info(&schema, &ticket, request)
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.check(&request).await?;
        let sql = std::str::from_utf8(&ticket.statement_handle)
            .map_err(|_| Status::invalid_argument("the ticket is not a statement"))?;
        let permit = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("the server is stopping"))?;
        let frame = self.plan(sql).await?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let rows = frame
            .execute_stream()
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            // The permit goes with the stream: the query counts until its last row is sent.
            .map(move |batch| {
                let _running = &permit;
                batch.map_err(|e| FlightError::ExternalError(Box::new(e)))
            });
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(rows)
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request).await?;
        let schema = query.clone().into_builder(&self.sql_info).schema();
        flight_info(&schema, &query, request)
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.check(&request).await?;
        let builder = query.into_builder(&self.sql_info);
        let schema = builder.schema();
        Ok(Response::new(one_batch(schema, builder.build())))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request).await?;
        let schema = query.into_builder().schema();
        flight_info(&schema, &query, request)
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.check(&request).await?;
        let mut builder = query.into_builder();
        builder.append(named_tables::CATALOG);
        let schema = builder.schema();
        Ok(Response::new(one_batch(schema, builder.build())))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request).await?;
        let schema = query.clone().into_builder().schema();
        flight_info(&schema, &query, request)
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.check(&request).await?;
        let mut builder = query.into_builder();
        for layer in named_tables::LAYERS {
            builder.append(named_tables::CATALOG, layer);
        }
        let schema = builder.schema();
        Ok(Response::new(one_batch(schema, builder.build())))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request).await?;
        let schema = query.clone().into_builder().schema();
        flight_info(&schema, &query, request)
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.check(&request).await?;
        let mut builder = query.into_builder();
        for table in TABLES {
            let schema = named_tables::schema_of(&self.lake, table)
                .await
                .map_err(|e| Status::internal(e.to_string()))?;
            if let Some(schema) = schema {
                builder
                    .append(
                        named_tables::CATALOG,
                        table.layer,
                        table.name,
                        "TABLE",
                        &schema,
                    )
                    .map_err(Status::from)?;
            }
        }
        let schema = builder.schema();
        Ok(Response::new(one_batch(schema, builder.build())))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.check(&request).await?;
        let schema = query.into_builder().schema();
        flight_info(&schema, &query, request)
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.check(&request).await?;
        let mut builder = query.into_builder();
        builder.append("TABLE");
        let schema = builder.schema();
        Ok(Response::new(one_batch(schema, builder.build())))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// Serves the endpoint on `listener` until `shutdown` begins.
pub async fn serve(
    listener: TcpListener,
    lake: Lake,
    auth: AuthState,
    shutdown: Shutdown,
) -> Result<(), tonic::transport::Error> {
    let service = FlightServiceServer::new(LakeFlightSql::new(lake, auth));
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
            shutdown.signalled().await
        })
        .await
}
