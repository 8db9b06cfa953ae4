//! The shapes of the records the engine hands out — metrics, the tick result, agent state, and
//! the tick and transaction logs — each declared once, next to the code that fills it.
//!
//! Python reads these shapes (`_core.SCHEMAS`) and derives from them its Parquet schemas, its
//! REST response models and its stubs, so a new field is one edit here and never a hand-copied
//! list elsewhere (docs/runner.md, "Record shapes").

/// A field's type as Python and Parquet see it. `-1` stands for null in the numpy log columns
/// of a nullable integer type, since numpy integers have no null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Int64,
    NullableInt64,
    Int32,
    UInt8,
    Bool,
    Float64,
    NullableFloat64,
    Str,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Int64 => "int64",
            FieldType::NullableInt64 => "int64|null",
            FieldType::Int32 => "int32",
            FieldType::UInt8 => "uint8",
            FieldType::Bool => "bool",
            FieldType::Float64 => "float64",
            FieldType::NullableFloat64 => "float64|null",
            FieldType::Str => "str",
        }
    }
}

/// One named, typed field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
}

impl Field {
    pub fn new(name: impl Into<String>, ty: FieldType) -> Self {
        Field { name: name.into(), ty }
    }
}

/// One value of a [`record!`] struct, borrowed for the hand-over to Python.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'a str),
}

/// A Rust field type a [`record!`] may hold, with the type Python sees.
pub trait Typed {
    const TYPE: FieldType;
    fn scalar(&self) -> Scalar<'_>;
}

macro_rules! typed_int {
    ($($t:ty),*) => {$(
        impl Typed for $t {
            const TYPE: FieldType = FieldType::Int64;
            fn scalar(&self) -> Scalar<'_> {
                Scalar::Int(*self as i64)
            }
        }
    )*};
}
typed_int!(u32, u64, i64);

impl Typed for f64 {
    const TYPE: FieldType = FieldType::Float64;
    fn scalar(&self) -> Scalar<'_> {
        Scalar::Float(*self)
    }
}

impl Typed for bool {
    const TYPE: FieldType = FieldType::Bool;
    fn scalar(&self) -> Scalar<'_> {
        Scalar::Bool(*self)
    }
}

impl Typed for String {
    const TYPE: FieldType = FieldType::Str;
    fn scalar(&self) -> Scalar<'_> {
        Scalar::Text(self)
    }
}

/// A record handed to Python as a dict: its schema and a walk over its values.
pub trait Record {
    /// Every field's name and type, in declaration order.
    fn schema() -> Vec<Field>;
    /// Every field's name and value, in declaration order.
    fn for_each(&self, visit: &mut dyn FnMut(&'static str, Scalar<'_>));
}

/// A struct whose fields are listed once: the struct itself, its [`Field`] schema and its
/// name/value walk all come from that one list. A field marked `[position]` is a position at the
/// end of the tick rather than a flow during it (callers summing several ticks keep the last).
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[doc = $doc:literal])* $field:ident: $ty:ty $([$tag:ident])?,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        impl $name {
            /// The fields marked `[position]`.
            pub const POSITIONS: &'static [&'static str] = &[$($($crate::record!(@$tag stringify!($field)),)?)*];
        }

        impl $crate::schema::Record for $name {
            fn schema() -> Vec<$crate::schema::Field> {
                vec![$($crate::schema::Field::new(stringify!($field), <$ty as $crate::schema::Typed>::TYPE),)*]
            }

            fn for_each(&self, visit: &mut dyn FnMut(&'static str, $crate::schema::Scalar<'_>)) {
                $(visit(stringify!($field), $crate::schema::Typed::scalar(&self.$field));)*
            }
        }
    };
    (@position $e:expr) => {
        $e
    };
}

/// One log column as handed to Python (a numpy array each). `Code` columns are `uint8` codes
/// into their names; `NullableInt64` uses -1 for none.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Int64(Vec<i64>),
    NullableInt64(Vec<i64>),
    Int32(Vec<i32>),
    UInt8(Vec<u8>),
    Code(Vec<u8>, &'static [&'static str]),
    Bool(Vec<bool>),
    Float64(Vec<f64>),
}

impl Column {
    pub fn ty(&self) -> FieldType {
        match self {
            Column::Int64(_) => FieldType::Int64,
            Column::NullableInt64(_) => FieldType::NullableInt64,
            Column::Int32(_) => FieldType::Int32,
            Column::UInt8(_) | Column::Code(..) => FieldType::UInt8,
            Column::Bool(_) => FieldType::Bool,
            Column::Float64(_) => FieldType::Float64,
        }
    }
}

/// The schema of a set of log columns (built on an empty log, so it costs nothing).
pub fn columns_schema(columns: &[(String, Column)]) -> Vec<Field> {
    columns.iter().map(|(name, c)| Field::new(name.clone(), c.ty())).collect()
}

/// The code tables of a set of log columns: column name, then the name of each code.
pub fn code_tables(columns: &[(String, Column)]) -> Vec<(String, &'static [&'static str])> {
    columns
        .iter()
        .filter_map(|(name, c)| match c {
            Column::Code(_, names) => Some((name.clone(), *names)),
            _ => None,
        })
        .collect()
}
