//! Email verification and password recovery in the browser, through a real SMTP conversation: the product's
//! worker sends the email (lettre) to a test SMTP server, and the test opens the link it finds in the message.
//! And the account's own security log on the profile page.

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
    // At both widths (a new account each): the notice and the landing page are in the README's screenshots.
    for (label, email, width, height) in [
        ("desktop", "ada@example.com", 1440, 900),
        ("mobile", "ada.lovelace@example.com", 375, 812),
    ] {
        let sink = &sink;
        e2e.run_sized(
            &format!("verify-email-{label}"),
            width,
            height,
            |b| async move {
                b.sign_up("Ada Lovelace", email, "Acme SRE").await;
                b.wait_text(".banner.unverified", "Confirm your email address")
                    .await;
                b.save_screenshot(&format!("unverified-{label}")).await;

                let link = emailed_link(sink, email, "verify-email").await;
                assert!(link.contains("/verify-email#token="), "{link}");
                b.goto_url(&link).await;
                b.wait_text("main h1", "Email address verified").await;
                let href = b.execute("return location.href").await;
                assert!(!href.as_str().unwrap().contains("token"), "{href}");
                b.save_screenshot(&format!("verify-email-{label}")).await;

                b.click("main a[href='/']").await;
                b.wait_text("main h1", "Dashboard").await;
                b.wait_gone(".banner.unverified").await;
            },
        )
        .await;
    }
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

#[tokio::test]
async fn the_profile_lists_the_failed_sign_in_and_the_sign_in_with_their_addresses() {
    let e2e = E2e::start(&[]).await;
    e2e.run("sign-in-activity", |b| async move {
        b.sign_up("Ada Lovelace", "ada@example.com", "Acme SRE")
            .await;
        b.click(".user-menu > button").await;
        b.click(".user-menu [role=menuitem].btn").await;
        b.wait_text("main h1", "Log in").await;
        b.fill("#email", "ada@example.com").await;
        b.fill("#password", "definitely not it").await;
        b.click("button[type=submit]").await;
        b.wait_text(".banner.error", "Email or password is incorrect")
            .await;
        b.login("ada@example.com").await;

        b.goto("/profile").await;
        b.wait_text("main h2", "Recent sign-in activity").await;
        // Newest first: the sign-in, then the failed attempt before it, marked; each with the browser's address.
        b.wait_text(
            ".activity tbody tr:nth-child(2)[data-action=login_failed]",
            "Failed sign-in attempt",
        )
        .await;
        let first = b
            .text(".activity tbody tr:nth-child(1)[data-action=login]")
            .await;
        assert!(first.contains("Signed in"), "{first}");
        assert!(first.contains("127.0.0.1"), "{first}");
        let failed = b
            .text(".activity tr.failed[data-action=login_failed]")
            .await;
        assert!(failed.contains("127.0.0.1"), "{failed}");
        assert_eq!(b.count(".activity tbody tr").await, 2);
        assert_eq!(b.count(".activity tr.failed .pill.bad").await, 1);
    })
    .await;
}
