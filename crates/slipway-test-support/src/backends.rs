//! One test body, run on both stores.

/// Generates, for each named `async fn(&DB)`, a test on SQLite and one on
/// PostgreSQL. `DB` is the suite's own database fixture, with
/// `DB::sqlite() -> DB` and `DB::postgres() -> Option<DB>` (`None` when
/// PostgreSQL is unreachable outside CI; the fixture panics in CI).
///
/// `on_both_backends!(crate::suite::support::TestDb; first_test, second_test);`
#[macro_export]
macro_rules! on_both_backends {
    ($db:path; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = <$db>::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = <$db>::postgres() else {
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}
