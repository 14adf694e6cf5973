//! The storage conformance suite: the contract of every method of `store::Store`, stated once as
//! plain async functions over `&dyn Store` (`conformance/`, one module per trait), and run on every
//! backend. A backend joins with one line at the bottom of this file:
//!
//! ```ignore
//! conformance!(postgres, open_postgres(DAY_OFFSET));
//! ```
//!
//! where the expression is a future of a [`Fresh`] store: new and empty for every test, counting
//! local days at `DAY_OFFSET`. Each contract becomes one `#[tokio::test]`, named
//! `<backend>::<contract>`.

mod conformance;
mod pg;

use conformance::{Fresh, DAY_OFFSET};
use teleoscope_server::store::postgres::PgStore;
use teleoscope_server::store::sqlite::SqliteStore;

/// A new SQLite store in its own temporary directory.
async fn open_sqlite(day_offset: i64) -> Fresh {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("teleoscope.db");
    let store = SqliteStore::open(path.to_str().unwrap(), day_offset, Default::default())
        .expect("a new SQLite store");
    Fresh::new(store, dir)
}

/// A new PostgreSQL store in a schema of its own (`pg.rs`).
async fn open_postgres(day_offset: i64) -> Fresh {
    let schema = pg::FreshSchema::new().await;
    let store = PgStore::open(&schema.url, day_offset)
        .await
        .expect("a new PostgreSQL store");
    Fresh::new(store, schema)
}

/// One `#[tokio::test]` per contract for the backend `$backend`, each on a fresh store from
/// `$open`. Every contract is listed here; one left out is dead code, which the build refuses
/// (`clippy -D warnings`).
macro_rules! conformance {
    ($backend:ident, $open:expr) => {
        conformance!(@tests $backend, $open,
            accounts::accounts_exist_once_created,
            accounts::keys_are_found_by_secret_id,
            accounts::secret_ids_are_unique,
            accounts::console_sessions_read_back_until_deleted,
            accounts::storing_a_console_session_removes_expired_ones,
            accounts::deleting_a_key_ends_its_console_sessions,
            projects::projects_read_back_as_inserted,
            projects::projects_keep_their_settings_from_the_insert,
            projects::project_ids_are_unique,
            projects::projects_list_oldest_first,
            projects::project_changes_keep_what_they_do_not_name,
            projects::foreign_accounts_see_no_project,
            projects::deleting_a_project_removes_what_it_owns,
            devices::devices_read_back_as_inserted,
            devices::device_ids_are_unique_per_project,
            devices::devices_list_by_id,
            devices::device_lists_filter_by_type_status_and_search,
            devices::device_changes_keep_what_they_do_not_name,
            devices::deleting_devices_returns_what_was_deleted,
            devices::foreign_accounts_see_no_device,
            devices::report_status_moves_between_offline_and_ready,
            devices::going_offline_ends_the_devices_open_parts,
            policies::modify_policy_adds_removes_and_sets,
            policies::each_mode_keeps_its_own_lists,
            policies::only_a_remote_device_of_the_project_has_a_list,
            policies::policies_list_by_remote,
            policies::policy_searches_match_literally,
            policies::deleting_policies_returns_the_remotes_that_had_a_list,
            policies::foreign_accounts_see_no_policy,
            sessions::a_first_append_creates_the_session,
            sessions::the_peer_joins_and_the_span_covers_both_parts,
            sessions::report_context_names_the_peer_and_whether_the_device_joined,
            sessions::joined_only_appends_need_a_joined_device_and_its_peer,
            sessions::appends_are_idempotent,
            sessions::late_samples_merge_in_offset_order,
            sessions::each_rejection_stores_nothing,
            sessions::the_last_report_ends_the_part,
            sessions::devices_are_connected_while_a_part_is_open,
            sessions::session_samples_are_cut_by_absolute_time,
            sessions::session_ids_are_unique_per_account,
            sessions::foreign_accounts_see_no_session,
            sessions::sessions_list_newest_first_ties_by_id,
            sessions::session_lists_filter_by_device_and_time,
            sessions::session_lists_filter_by_update_quality_reason_and_liveness,
            sessions::fleet_overview_counts_and_orders,
            rollups::session_facts_are_the_sessions_starting_in_the_window,
            rollups::rollups_equal_a_direct_count,
            rollups::rollups_follow_regrading_and_moved_starts,
            rollups::session_spans_are_the_quarters_and_local_days_with_a_start,
            rollups::foreign_accounts_count_nothing,
            upkeep::idle_parts_end,
            upkeep::heartbeats_expire,
            upkeep::compaction_preserves_samples,
            upkeep::compaction_preserves_an_ended_part,
            upkeep::scoring_is_final_only_for_an_ended_unchanged_session,
            upkeep::a_scored_session_with_new_samples_is_scored_again,
            upkeep::retention_drops_old_samples_and_nothing_else,
            upkeep::ping_answers_on_a_healthy_store,
        );
    };
    (@tests $backend:ident, $open:expr, $($module:ident :: $contract:ident),* $(,)?) => {
        mod $backend {
            use super::*;
            $(
                #[tokio::test]
                async fn $contract() {
                    let fresh: Fresh = $open.await;
                    conformance::$module::$contract(&*fresh.store).await;
                }
            )*
        }
    };
}

conformance!(sqlite, open_sqlite(DAY_OFFSET));
conformance!(postgres, open_postgres(DAY_OFFSET));
