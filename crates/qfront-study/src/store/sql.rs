//! One small SQL interface over the two database drivers the store speaks: rusqlite (SQLite,
//! bundled) and postgres (PostgreSQL). Statements are written once with `?N` placeholders
//! (rewritten to `$N` for PostgreSQL); values are the three column types the schema uses.
//! Written by hand because no maintained crate offers a synchronous layer over both drivers
//! that keeps rusqlite's bundled SQLite (sqlx is async, diesel brings its own schema DSL).

use super::location::StorageLocation;

/// A value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// BIGINT / INTEGER.
    Int(i64),
    /// DOUBLE PRECISION / REAL.
    Real(f64),
    /// TEXT.
    Text(String),
    /// SQL NULL (read only: statements write NULL as a literal, so PostgreSQL never has to
    /// guess a null's type).
    Null,
}

impl Value {
    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub(crate) fn real(&self) -> Option<f64> {
        match self {
            Value::Real(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Text(v) => Some(v),
            _ => None,
        }
    }
}

/// An open connection.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

/// A transaction that holds the database's write lock (SQLite: `BEGIN IMMEDIATE`;
/// PostgreSQL: the row locks its statements take).
pub(crate) enum Tx<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres(postgres::Transaction<'a>),
}

impl Db {
    /// Connects; SQLite files are created with their directory, in WAL mode.
    pub(crate) fn open(location: &StorageLocation) -> Result<Self, String> {
        match location {
            StorageLocation::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                let connection = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                connection
                    .pragma_update(None, "journal_mode", "WAL")
                    .map_err(|e| e.to_string())?;
                connection
                    .pragma_update(None, "synchronous", "NORMAL")
                    .map_err(|e| e.to_string())?;
                // Writers queue behind a worker that holds the lock while it asks the
                // optimizer (a SAAS fit takes seconds), so the wait is long.
                connection
                    .busy_timeout(std::time::Duration::from_secs(600))
                    .map_err(|e| e.to_string())?;
                Ok(Db::Sqlite(connection))
            }
            StorageLocation::Postgres(url) => {
                let client = postgres::Client::connect(url, postgres::NoTls)
                    .map_err(|e| format!("cannot connect: {}", postgres_error(&e)))?;
                Ok(Db::Postgres(Box::new(client)))
            }
        }
    }

    /// Begins a reading transaction (SQLite: deferred, so readers never wait for a worker
    /// that holds the write lock while it asks; WAL gives them a consistent snapshot).
    pub(crate) fn read_transaction(&mut self) -> Result<Tx<'_>, String> {
        self.begin(rusqlite::TransactionBehavior::Deferred)
    }

    /// Begins a writing transaction (SQLite: immediate, taking the write lock at once).
    pub(crate) fn transaction(&mut self) -> Result<Tx<'_>, String> {
        self.begin(rusqlite::TransactionBehavior::Immediate)
    }

    fn begin(&mut self, behavior: rusqlite::TransactionBehavior) -> Result<Tx<'_>, String> {
        match self {
            Db::Sqlite(c) => c
                .transaction_with_behavior(behavior)
                .map(Tx::Sqlite)
                .map_err(|e| e.to_string()),
            Db::Postgres(c) => c
                .transaction()
                .map(Tx::Postgres)
                .map_err(|e| postgres_error(&e)),
        }
    }

    /// Whether this is a PostgreSQL connection.
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

/// A PostgreSQL error with its cause: the server's message (`FATAL: database "x" does not
/// exist`) or the I/O error (`Connection refused`), which the driver's own text leaves out.
fn postgres_error(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

/// `?1, ?2` → `$1, $2`.
fn postgres_placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

fn sqlite_params(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|v| match v {
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(r) => rusqlite::types::Value::Real(*r),
            Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
            Value::Null => rusqlite::types::Value::Null,
        })
        .collect()
}

fn postgres_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Real(r) => Box::new(*r),
                Value::Text(t) => Box::new(t.clone()),
                Value::Null => Box::new(Option::<String>::None),
            }
        })
        .collect()
}

fn postgres_row(row: &postgres::Row) -> Result<Vec<Value>, String> {
    use postgres::types::Type;
    (0..row.len())
        .map(|i| {
            let column = &row.columns()[i];
            let ty = column.type_();
            let value = if *ty == Type::INT8 {
                row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int))
            } else if *ty == Type::INT4 {
                row.try_get::<_, Option<i32>>(i)
                    .map(|v| v.map(|v| Value::Int(v as i64)))
            } else if *ty == Type::FLOAT8 {
                row.try_get::<_, Option<f64>>(i).map(|v| v.map(Value::Real))
            } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
                row.try_get::<_, Option<String>>(i)
                    .map(|v| v.map(Value::Text))
            } else {
                return Err(format!("column {} has unexpected type {ty}", column.name()));
            };
            value
                .map(|v| v.unwrap_or(Value::Null))
                .map_err(|e| e.to_string())
        })
        .collect()
}

impl Tx<'_> {
    /// Runs one statement; returns the rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, String> {
        match self {
            Tx::Sqlite(tx) => tx
                .execute(sql, rusqlite::params_from_iter(sqlite_params(params)))
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            Tx::Postgres(tx) => {
                let boxed = postgres_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                tx.execute(&postgres_placeholders(sql), &refs)
                    .map_err(|e| postgres_error(&e))
            }
        }
    }

    /// Runs a query; returns its rows.
    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, String> {
        match self {
            Tx::Sqlite(tx) => {
                let mut statement = tx.prepare(sql).map_err(|e| e.to_string())?;
                let columns = statement.column_count();
                let rows = statement
                    .query_map(rusqlite::params_from_iter(sqlite_params(params)), |row| {
                        (0..columns)
                            .map(|i| {
                                Ok(match row.get_ref(i)? {
                                    rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                                    rusqlite::types::ValueRef::Real(v) => Value::Real(v),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        Value::Text(String::from_utf8_lossy(t).into_owned())
                                    }
                                    rusqlite::types::ValueRef::Null => Value::Null,
                                    rusqlite::types::ValueRef::Blob(_) => Value::Null,
                                })
                            })
                            .collect::<rusqlite::Result<Vec<Value>>>()
                    })
                    .map_err(|e| e.to_string())?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(|e| e.to_string())
            }
            Tx::Postgres(tx) => {
                let boxed = postgres_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                tx.query(&postgres_placeholders(sql), &refs)
                    .map_err(|e| postgres_error(&e))?
                    .iter()
                    .map(postgres_row)
                    .collect()
            }
        }
    }

    /// SQL for the database's clock in Unix seconds. Every stamp a study keeps (start,
    /// heartbeat, finish) and every staleness comparison uses it, so workers on machines whose
    /// clocks disagree still judge each other's heartbeats on one clock: PostgreSQL's
    /// `clock_timestamp()` (the server's), and on SQLite, whose studies live on one machine's
    /// disk, that machine's clock as SQLite reads it.
    pub(crate) fn clock_sql(&self) -> &'static str {
        match self {
            Tx::Sqlite(_) => "((julianday('now') - 2440587.5) * 86400.0)",
            Tx::Postgres(_) => "(EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION)",
        }
    }

    /// The database's clock now (see [`Tx::clock_sql`]).
    pub(crate) fn clock(&mut self) -> Result<f64, String> {
        let sql = format!("SELECT {}", self.clock_sql());
        self.query(&sql, &[])?
            .first()
            .and_then(|row| row.first().and_then(Value::real))
            .ok_or_else(|| "the database did not report its clock".to_string())
    }

    /// Commits.
    pub(crate) fn commit(self) -> Result<(), String> {
        match self {
            Tx::Sqlite(tx) => tx.commit().map_err(|e| e.to_string()),
            Tx::Postgres(tx) => tx.commit().map_err(|e| postgres_error(&e)),
        }
    }
}
