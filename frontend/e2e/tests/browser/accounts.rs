//! Email verification and password recovery in the browser, through a real SMTP conversation: the product's
//! worker sends the email (lettre) to a test SMTP server, and the test opens the link it finds in the message.

use crate::harness::{E2e, PASSWORD};
use insights_testing::smtp::SmtpSink;

/// The app with SMTP pointing at `sink`.
async fn start(sink: &SmtpSink) -> E2e {
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    E2e::start(&[
        ("INSIGHTS_SMTP_URL", url.as_str()),
        ("INSIGHTS_SMTP_FROM", "insights@example.com"),
    ])
    .await
}

/// The link to `page` in the first email to `to`, once it has arrived.
async fn emailed_link(sink: &SmtpSink, to: &str, page: &str) -> String {
    for _ in 0..300 {
        if let Some(link) = sink
            .messages_to(to)
            .await
            .iter()
            .find_map(|m| m.link_to(page))
        {
            return link;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no email to {to} with a link to /{page}");
}

#[tokio::test]
async fn a_new_account_verifies_its_address_through_the_emailed_link() {
    let sink = SmtpSink::start(0).await;
    let e2e = start(&sink).await;
    e2e.run("verify-email", |b| async move {
        b.sign_up("Ada Lovelace", "ada@example.com", "Acme SRE")
            .await;
        b.wait_text(".banner.unverified", "Confirm your email address")
            .await;

        let link = emailed_link(&sink, "ada@example.com", "verify-email").await;
        assert!(link.contains("/verify-email#token="), "{link}");
        b.goto_url(&link).await;
        b.wait_text("main h1", "Email address verified").await;
        let href = b.execute("return location.href").await;
        assert!(!href.as_str().unwrap().contains("token"), "{href}");

        b.click("main a[href='/']").await;
        b.wait_text("main h1", "Dashboard").await;
        b.wait_gone(".banner.unverified").await;
    })
    .await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link_and_the_new_one_logs_in() {
    let sink = SmtpSink::start(0).await;
    let e2e = start(&sink).await;
    e2e.app.signup("grace@example.com", "Acme").await;
    e2e.run("forgot-password", |b| async move {
        b.goto("/login").await;
        b.click("a[href='/forgot-password']").await;
        b.wait_text("main h1", "Forgot your password?").await;
        b.fill("#email", "grace@example.com").await;
        b.click("button[type=submit]").await;
        b.wait_text(".banner.success", "a link to choose a new password")
            .await;

        let link = emailed_link(&sink, "grace@example.com", "reset-password").await;
        b.goto_url(&link).await;
        b.wait_text("main h1", "Choose a new password").await;
        let href = b.execute("return location.href").await;
        assert!(!href.as_str().unwrap().contains("token"), "{href}");
        b.fill("#new_password", "a brand new passphrase").await;
        b.click("button[type=submit]").await;
        b.wait_text(".banner.success", "Your password is changed")
            .await;

        b.click("main a[href='/login']").await;
        b.fill("#email", "grace@example.com").await;
        b.fill("#password", PASSWORD).await;
        b.click("button[type=submit]").await;
        b.wait_text(".banner.error", "Email or password is incorrect")
            .await;
        b.fill("#password", "a brand new passphrase").await;
        b.click("button[type=submit]").await;
        b.wait_text("main h1", "Dashboard").await;
    })
    .await;
}
