//! The verification of a connection: credentials first, then each allow-listed function.

use crate::clients::{AwsClients, Connection, ConnectionAuth, CredentialsError, describe};
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use insights_types::api::AwsCheckOut;
use std::time::Duration;

/// One check's result (the API body of the same shape).
pub type AwsCheck = AwsCheckOut;

/// The time limit of each verification call.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

fn check(name: impl Into<String>, ok: bool, message: impl Into<String>) -> AwsCheckOut {
    AwsCheckOut {
        check: name.into(),
        ok,
        message: message.into(),
    }
}

/// Verifies a connection: assumes its role with the external id (check `assume_role`) — or, with an access
/// key pair, asks STS who the keys belong to (check `credentials`) — then calls `GetFunction` on each
/// allow-listed function (checks `function:<name>`). Every failure is a sentence a person can act on; when no
/// credentials could be had, the functions are not looked up. `verify_id` names the STS session.
pub async fn verify(
    clients: &AwsClients,
    connection: &Connection,
    functions: &[String],
    verify_id: &str,
) -> Vec<AwsCheckOut> {
    let mut checks = Vec::new();
    // A verification asks AWS again, never a cached answer.
    clients.forget(connection);
    let credentials = match &connection.auth {
        ConnectionAuth::Role { role_arn, .. } => {
            match tokio::time::timeout(CHECK_TIMEOUT, clients.credentials(connection, verify_id))
                .await
            {
                Ok(Ok(c)) => {
                    checks.push(check(
                        "assume_role",
                        true,
                        format!("Assumed the role {role_arn} with the external id."),
                    ));
                    c
                }
                Ok(Err(e)) => {
                    checks.push(check("assume_role", false, credentials_sentence(&e)));
                    return checks;
                }
                Err(_) => {
                    checks.push(check(
                        "assume_role",
                        false,
                        format!(
                            "AWS STS did not answer within {} s; try again later.",
                            CHECK_TIMEOUT.as_secs()
                        ),
                    ));
                    return checks;
                }
            }
        }
        ConnectionAuth::Keys { access_key_id, .. } => {
            let hint = key_hint(access_key_id);
            let credentials = match clients.credentials(connection, verify_id).await {
                Ok(c) => c,
                Err(e) => {
                    checks.push(check("credentials", false, credentials_sentence(&e)));
                    return checks;
                }
            };
            let who = tokio::time::timeout(
                CHECK_TIMEOUT,
                clients
                    .sts(&connection.region, Some(credentials.clone()))
                    .get_caller_identity()
                    .send(),
            )
            .await;
            match who {
                Ok(Ok(out)) => checks.push(check(
                    "credentials",
                    true,
                    format!(
                        "The access key …{hint} belongs to {}.",
                        out.arn().unwrap_or("an unnamed identity")
                    ),
                )),
                Ok(Err(e)) => {
                    let message = match &e {
                        SdkError::ServiceError(se) => {
                            let code = se.err().code().unwrap_or("");
                            format!(
                                "AWS refused the access key …{hint}: it is unknown, inactive or its secret is wrong \
                                 ({code}{}); enter a valid key pair.",
                                se.err()
                                    .message()
                                    .map(|m| format!(": {m}"))
                                    .unwrap_or_default()
                            )
                        }
                        _ => format!(
                            "Could not reach AWS STS to check the access key …{hint}: {}.",
                            describe(&e)
                        ),
                    };
                    checks.push(check("credentials", false, message));
                    return checks;
                }
                Err(_) => {
                    checks.push(check(
                        "credentials",
                        false,
                        format!(
                            "AWS STS did not answer within {} s; try again later.",
                            CHECK_TIMEOUT.as_secs()
                        ),
                    ));
                    return checks;
                }
            }
            credentials
        }
    };
    let lambda = clients.lambda(&connection.region, credentials, Some(CHECK_TIMEOUT));
    for function in functions {
        let name = format!("function:{function}");
        let region = &connection.region;
        match lambda.get_function().function_name(function).send().await {
            Ok(out) => {
                let conf = out.configuration();
                let runtime = conf
                    .and_then(|c| c.runtime())
                    .map(|r| r.as_str().to_owned())
                    .or_else(|| {
                        conf.and_then(|c| c.package_type())
                            .map(|p| p.as_str().to_owned())
                    });
                let state = conf.and_then(|c| c.state()).map(|s| s.as_str().to_owned());
                match state.as_deref() {
                    Some("Failed") | Some("Inactive") => checks.push(check(
                        name,
                        false,
                        format!(
                            "The function {function} exists in region {region} but its state is {}: fix or \
                             redeploy it in the Lambda console.",
                            state.as_deref().unwrap_or_default()
                        ),
                    )),
                    _ => checks.push(check(
                        name,
                        true,
                        format!(
                            "Found the function {function} in region {region}{}.",
                            runtime.map(|r| format!(" ({r})")).unwrap_or_default()
                        ),
                    )),
                }
            }
            Err(e) => checks.push(check(
                name,
                false,
                get_function_sentence(function, region, &e),
            )),
        }
    }
    checks
}

fn get_function_sentence<E>(
    function: &str,
    region: &str,
    e: &SdkError<E, aws_sdk_lambda::config::http::HttpResponse>,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status().as_u16();
            if code == "ResourceNotFoundException" || status == 404 {
                format!(
                    "The function {function} does not exist in region {region}: check its name (or ARN) and the \
                     connection's region."
                )
            } else if code == "AccessDeniedException" || status == 403 {
                format!(
                    "The role lacks lambda:GetFunction on {function}: add lambda:GetFunction and \
                     lambda:InvokeFunction on this function to the role's policy (the templates do)."
                )
            } else if status == 429 || code == "TooManyRequestsException" {
                format!("Lambda throttled the lookup of {function}; verify again in a minute.")
            } else {
                format!(
                    "Lambda answered {status} {code} when looking up {function}{}; verify again later.",
                    se.err()
                        .message()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            }
        }
        SdkError::TimeoutError(_) => {
            format!(
                "Lambda did not answer within {} s when looking up {function}; verify again later.",
                CHECK_TIMEOUT.as_secs()
            )
        }
        other => format!(
            "Could not reach Lambda in region {region} to look up {function}: {}.",
            describe(other)
        ),
    }
}

fn key_hint(access_key_id: &str) -> String {
    let chars: Vec<char> = access_key_id.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

fn credentials_sentence(e: &CredentialsError) -> String {
    match e {
        CredentialsError::Denied { .. } => {
            format!("{e}. Update the role's trust policy from the template.")
        }
        CredentialsError::OwnCredentials(_) => {
            format!("{e}. This is a problem of the product's configuration: tell its operators.")
        }
        CredentialsError::BadKeys { .. } => format!("{e}. Enter a valid key pair."),
        CredentialsError::Other(_) => format!("{e}. Verify again later."),
    }
}
