//! One session in several tabs: they share the refresh cookie, refresh in turn (Web Lock) and hand tokens and
//! logouts to each other (BroadcastChannel).

use crate::harness::E2e;

#[tokio::test]
async fn tabs_share_one_session_and_a_logout_in_one_signs_out_the_others() {
    let e2e = E2e::start(&[]).await;
    e2e.app.signup("tabs@example.com", "Acme").await;
    e2e.run("sessions-tabs", |b| async move {
        b.login("tabs@example.com").await;
        // A second tab restores the session from the shared cookie.
        let first = b.open_tab("/").await;
        b.wait_text("main h1", "Dashboard").await;
        // Both tabs start at the same instant and refresh with the same cookie: one refreshes, the other takes
        // its token (and the server's grace window would cover them anyway). Neither ends the session.
        b.execute("window.open(location.href, '_blank'); location.reload(); return null")
            .await;
        b.wait_text("main h1", "Dashboard").await;
        let second = b.switch_to(first).await;
        b.reload().await;
        b.wait_text("main h1", "Dashboard").await;

        // Logging out here signs the other tab out at once, without a request or a reload there.
        b.click(".user-menu > button").await;
        b.click(".user-menu [role=menuitem].btn").await;
        b.wait_for(|| async { b.path().await.starts_with("/login") })
            .await;
        b.switch_to(second).await;
        b.wait_for(|| async { b.path().await.starts_with("/login") })
            .await;
    })
    .await;
}
