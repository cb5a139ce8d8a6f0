//! A Lambda (and STS) API on loopback speaking the real wire format, with a programmable behaviour per
//! function — for the tests of invocations, runs and verification, where moto's Docker-free Lambda always
//! succeeds (it never reports a function error, a throttle or a missing function).
//!
//! Lambda (restJson1, as the AWS SDK sends it):
//! - `POST /2015-03-31/functions/{name}/invocations`: `X-Amz-Invocation-Type` `RequestResponse` (200 with the
//!   result, `X-Amz-Executed-Version`, and with `X-Amz-Log-Type: Tail` the base64 `X-Amz-Log-Result`) or
//!   `Event` (202, empty body) or `DryRun` (204). A function error is **200** with `X-Amz-Function-Error:
//!   Handled|Unhandled` and the error JSON `{errorType, errorMessage}`; a throttle is **429**
//!   `TooManyRequestsException`; an unknown function **404** `ResourceNotFoundException`; a denied call
//!   **403** `AccessDeniedException` (errors carry `X-Amzn-ErrorType` and a JSON body with `message`).
//! - `GET /2015-03-31/functions/{name}` (GetFunction): the function's configuration, or 404 / 403.
//!
//! STS (awsQuery, form body, XML answers) at `POST /`: `AssumeRole` — with [`FakeLambda::trust`] configured,
//! only a trusted role and external id pair is accepted (403 `AccessDenied` otherwise, as AWS does; moto
//! accepts any external id); `GetCallerIdentity`.
//!
//! Every request to a function is recorded with its payload, invocation type, decoded client context and
//! what was answered ([`FakeLambda::invocations`]), so tests count attempts exactly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The account id of the fake's ARNs.
pub const ACCOUNT: &str = "123456789012";

/// `Handled` (the function returned an error) or `Unhandled` (it crashed, timed out inside Lambda, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Handled,
    Unhandled,
}

impl ErrorKind {
    fn header(self) -> &'static str {
        match self {
            ErrorKind::Handled => "Handled",
            ErrorKind::Unhandled => "Unhandled",
        }
    }
}

/// What a function does when invoked.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Returns `{"echo": <payload>, "client_context": <custom or null>}`.
    Echo,
    /// Returns this JSON.
    Return(Value),
    /// Fails: `X-Amz-Function-Error: <kind>` and `{"errorType", "errorMessage"}`.
    Fail {
        kind: ErrorKind,
        error_type: String,
        message: String,
    },
    /// Answers 429 `TooManyRequestsException` to the next `times` calls, then behaves as `then`.
    Throttle { times: usize, then: Box<Behaviour> },
    /// Answers after `delay` (a call with a shorter time limit times out), as `then`.
    Delay {
        delay: Duration,
        then: Box<Behaviour>,
    },
    /// 403 `AccessDeniedException` on Invoke and GetFunction (the role lacks the permissions).
    Denied,
}

impl Behaviour {
    /// A handled function error with this type and message.
    pub fn handled(error_type: &str, message: &str) -> Self {
        Behaviour::Fail {
            kind: ErrorKind::Handled,
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// An unhandled function error (a crash) with this type and message.
    pub fn unhandled(error_type: &str, message: &str) -> Self {
        Behaviour::Fail {
            kind: ErrorKind::Unhandled,
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// Throttled `times` times, then echoes.
    pub fn throttle(times: usize) -> Self {
        Behaviour::Throttle {
            times,
            then: Box::new(Behaviour::Echo),
        }
    }

    /// Echoes after `delay`.
    pub fn delay(delay: Duration) -> Self {
        Behaviour::Delay {
            delay,
            then: Box::new(Behaviour::Echo),
        }
    }
}

/// One request a function received.
#[derive(Clone, Debug)]
pub struct Received {
    pub function: String,
    /// The raw payload bytes.
    pub payload: Vec<u8>,
    /// `RequestResponse`, `Event` or `DryRun`.
    pub invocation_type: String,
    pub log_type: Option<String>,
    /// The decoded `X-Amz-Client-Context` (its JSON).
    pub client_context: Option<Value>,
    /// The `X-Amz-Security-Token` the call was signed with (assumed-role credentials carry one).
    pub security_token: Option<String>,
    /// The HTTP status answered (429 for a throttled call).
    pub status: u16,
    /// The function error answered, if any (`Handled`/`Unhandled`).
    pub function_error: Option<String>,
    pub at: Instant,
}

impl Received {
    /// The payload as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

/// One AssumeRole call the fake STS received.
#[derive(Clone, Debug)]
pub struct AssumeRoleCall {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
    pub duration_seconds: Option<u32>,
    /// Whether it was accepted.
    pub ok: bool,
}

#[derive(Default)]
struct State {
    functions: HashMap<String, Function>,
    received: Vec<Received>,
    trust: Option<Vec<(String, String)>>,
    assume_role_calls: Vec<AssumeRoleCall>,
    session_secs: u32,
    issued: u64,
}

struct Function {
    behaviour: Behaviour,
    throttled: usize,
    deny_lookup: bool,
}

/// The fake. Dropping it stops the server.
pub struct FakeLambda {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl FakeLambda {
    /// Starts the server on loopback (no function yet: every invocation answers 404).
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            session_secs: 3600,
            ..State::default()
        }));
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        FakeLambda { server, state }
    }

    /// The endpoint URL for both Lambda and STS (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Creates (or changes) a function.
    pub fn function(&self, name: &str, behaviour: Behaviour) -> &Self {
        self.state.lock().unwrap().functions.insert(
            name.to_owned(),
            Function {
                behaviour,
                throttled: 0,
                deny_lookup: false,
            },
        );
        self
    }

    /// Removes a function (invocations then answer 404).
    pub fn remove(&self, name: &str) {
        self.state.lock().unwrap().functions.remove(name);
    }

    /// GetFunction of this (existing) function answers 403 while Invoke still works: a role with
    /// `lambda:InvokeFunction` only.
    pub fn deny_lookup(&self, name: &str) {
        if let Some(f) = self.state.lock().unwrap().functions.get_mut(name) {
            f.deny_lookup = true;
        }
    }

    /// From now on AssumeRole is accepted only for these role ARN and external id pairs (without a call to
    /// this, any role is accepted).
    pub fn trust(&self, role_arn: &str, external_id: &str) {
        self.state
            .lock()
            .unwrap()
            .trust
            .get_or_insert_with(Vec::new)
            .push((role_arn.to_owned(), external_id.to_owned()));
    }

    /// How long issued sessions last (default 3600 s; `DurationSeconds` of the call wins when smaller).
    pub fn session_secs(&self, secs: u32) {
        self.state.lock().unwrap().session_secs = secs;
    }

    /// Every request to `function` (throttled ones included), oldest first.
    pub fn invocations(&self, function: &str) -> Vec<Received> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.function == function)
            .cloned()
            .collect()
    }

    /// How many requests `function` received (throttled ones included).
    pub fn count(&self, function: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.function == function)
            .count()
    }

    /// All requests to any function.
    pub fn all_invocations(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The AssumeRole calls received.
    pub fn assume_role_calls(&self) -> Vec<AssumeRoleCall> {
        self.state.lock().unwrap().assume_role_calls.clone()
    }
}

struct Responder {
    state: Arc<Mutex<State>>,
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("X-Amzn-ErrorType", code)
        .insert_header("Content-Type", "application/json")
        .set_body_string(json!({ "Type": "User", "message": message }).to_string())
}

fn sts_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Content-Type", "text/xml").set_body_string(format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{}</Message></Error><RequestId>fake</RequestId></ErrorResponse>",
        xml_escape(message)
    ))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The function a path names: a name, `name:qualifier`, or an ARN (`arn:aws:lambda:…:function:name[:q]`).
fn function_key(raw: &str) -> String {
    let name = percent_decode(raw);
    let name = match name.find(":function:") {
        Some(i) => name[i + ":function:".len()..].to_owned(),
        None => name,
    };
    name.split(':').next().unwrap_or_default().to_owned()
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", [""]) => self.sts(request),
            ("POST", ["2015-03-31", "functions", name, "invocations"]) => {
                self.invoke(request, name)
            }
            ("GET", ["2015-03-31", "functions", name]) => self.get_function(name),
            _ => error(
                404,
                "UnknownOperationException",
                &format!("the fake does not serve {path}"),
            ),
        }
    }
}

impl Responder {
    fn invoke(&self, request: &Request, raw_name: &str) -> ResponseTemplate {
        let name = function_key(raw_name);
        let invocation_type =
            header(request, "x-amz-invocation-type").unwrap_or_else(|| "RequestResponse".into());
        let log_type = header(request, "x-amz-log-type");
        let client_context = header(request, "x-amz-client-context")
            .and_then(|c| BASE64.decode(c).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let mut state = self.state.lock().unwrap();
        let mut received = Received {
            function: name.clone(),
            payload: request.body.clone(),
            invocation_type: invocation_type.clone(),
            log_type: log_type.clone(),
            client_context: client_context.clone(),
            security_token: header(request, "x-amz-security-token"),
            status: 0,
            function_error: None,
            at: Instant::now(),
        };
        let Some(function) = state.functions.get_mut(&name) else {
            received.status = 404;
            state.received.push(received);
            return error(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"),
            );
        };
        // Resolve the behaviour: throttles count down, delays wrap another behaviour.
        let mut behaviour = function.behaviour.clone();
        let mut delay = Duration::ZERO;
        loop {
            match behaviour {
                Behaviour::Throttle { times, then } => {
                    if function.throttled < times {
                        function.throttled += 1;
                        received.status = 429;
                        state.received.push(received);
                        return error(429, "TooManyRequestsException", "Rate Exceeded.")
                            .insert_header("Retry-After", "1");
                    }
                    behaviour = *then;
                }
                Behaviour::Delay { delay: d, then } => {
                    delay += d;
                    behaviour = *then;
                }
                _ => break,
            }
        }
        if request.body.len() > 6 * 1024 * 1024
            || (invocation_type == "Event" && request.body.len() > 1024 * 1024)
        {
            received.status = 413;
            state.received.push(received);
            return error(
                413,
                "RequestTooLargeException",
                "Request must be smaller than the payload limit.",
            );
        }
        if !request.body.is_empty() && serde_json::from_slice::<Value>(&request.body).is_err() {
            received.status = 400;
            state.received.push(received);
            return error(
                400,
                "InvalidRequestContentException",
                "Could not parse request body into json.",
            );
        }
        let response = match (&behaviour, invocation_type.as_str()) {
            (Behaviour::Denied, _) => {
                received.status = 403;
                error(
                    403,
                    "AccessDeniedException",
                    &format!(
                        "User is not authorized to perform: lambda:InvokeFunction on resource: {name}"
                    ),
                )
            }
            (_, "Event") => {
                received.status = 202;
                ResponseTemplate::new(202)
            }
            (_, "DryRun") => {
                received.status = 204;
                ResponseTemplate::new(204)
            }
            (
                Behaviour::Fail {
                    kind,
                    error_type,
                    message,
                },
                _,
            ) => {
                received.status = 200;
                received.function_error = Some(kind.header().to_owned());
                let body = json!({ "errorType": error_type, "errorMessage": message });
                let log = format!(
                    "START RequestId: fake\n[ERROR] {error_type}: {message}\nEND RequestId: fake\n"
                );
                with_log(
                    ResponseTemplate::new(200)
                        .insert_header("X-Amz-Function-Error", kind.header())
                        .insert_header("X-Amz-Executed-Version", "$LATEST")
                        .insert_header("Content-Type", "application/json")
                        .set_body_string(body.to_string()),
                    log_type.as_deref(),
                    &log,
                )
            }
            (behaviour, _) => {
                received.status = 200;
                let body = match behaviour {
                    Behaviour::Return(v) => v.clone(),
                    _ => json!({
                        "echo": serde_json::from_slice::<Value>(&request.body).unwrap_or(Value::Null),
                        "client_context": client_context.as_ref().and_then(|c| c.get("custom")).cloned(),
                    }),
                };
                let log = format!(
                    "START RequestId: fake\n{name} received {} bytes\nEND RequestId: fake\n",
                    request.body.len()
                );
                with_log(
                    ResponseTemplate::new(200)
                        .insert_header("X-Amz-Executed-Version", "$LATEST")
                        .insert_header("Content-Type", "application/json")
                        .set_body_string(body.to_string()),
                    log_type.as_deref(),
                    &log,
                )
            }
        };
        state.received.push(received);
        response.set_delay(delay)
    }

    fn get_function(&self, raw_name: &str) -> ResponseTemplate {
        let name = function_key(raw_name);
        let state = self.state.lock().unwrap();
        match state.functions.get(&name) {
            None => error(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"),
            ),
            Some(f) if f.deny_lookup || matches!(f.behaviour, Behaviour::Denied) => error(
                403,
                "AccessDeniedException",
                &format!("User is not authorized to perform: lambda:GetFunction on resource: {name}"),
            ),
            Some(_) => ResponseTemplate::new(200).insert_header("Content-Type", "application/json").set_body_string(
                json!({
                    "Configuration": {
                        "FunctionName": name,
                        "FunctionArn": format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"),
                        "Runtime": "python3.12",
                        "State": "Active",
                        "Version": "$LATEST",
                        "PackageType": "Zip",
                    },
                    "Code": { "RepositoryType": "S3", "Location": "https://example.invalid/code.zip" },
                })
                .to_string(),
            ),
        }
    }

    fn sts(&self, request: &Request) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let action = form.get("Action").map(String::as_str).unwrap_or_default();
        let mut state = self.state.lock().unwrap();
        match action {
            "AssumeRole" => {
                let role_arn = form.get("RoleArn").cloned().unwrap_or_default();
                let external_id = form.get("ExternalId").cloned();
                let session_name = form.get("RoleSessionName").cloned().unwrap_or_default();
                let duration_seconds = form.get("DurationSeconds").and_then(|d| d.parse().ok());
                let valid_session = (2..=64).contains(&session_name.len())
                    && session_name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
                let trusted = match &state.trust {
                    None => true,
                    Some(pairs) => pairs
                        .iter()
                        .any(|(r, e)| *r == role_arn && Some(e.as_str()) == external_id.as_deref()),
                };
                state.assume_role_calls.push(AssumeRoleCall {
                    role_arn: role_arn.clone(),
                    external_id,
                    session_name: session_name.clone(),
                    duration_seconds,
                    ok: trusted && valid_session,
                });
                if !valid_session {
                    return sts_error(400, "ValidationError", "RoleSessionName is invalid");
                }
                if !trusted {
                    return sts_error(
                        403,
                        "AccessDenied",
                        &format!(
                            "User: arn:aws:iam::{ACCOUNT}:user/insights is not authorized to perform: \
                             sts:AssumeRole on resource: {role_arn}"
                        ),
                    );
                }
                state.issued += 1;
                let secs = duration_seconds.unwrap_or(3600).min(state.session_secs);
                let expiration = (chrono::Utc::now() + chrono::Duration::seconds(i64::from(secs)))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let n = state.issued;
                let role_name = role_arn.rsplit('/').next().unwrap_or("role");
                ResponseTemplate::new(200).insert_header("Content-Type", "text/xml").set_body_string(format!(
                    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
                     <Credentials><AccessKeyId>ASIAFAKE{n:012}</AccessKeyId>\
                     <SecretAccessKey>fake-secret-{n}</SecretAccessKey><SessionToken>fake-token-{n}</SessionToken>\
                     <Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser>\
                     <AssumedRoleId>AROAFAKE:{session}</AssumedRoleId>\
                     <Arn>arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}</Arn></AssumedRoleUser>\
                     </AssumeRoleResult><ResponseMetadata><RequestId>fake-{n}</RequestId></ResponseMetadata>\
                     </AssumeRoleResponse>",
                    session = xml_escape(&session_name),
                    role = xml_escape(role_name),
                ))
            }
            "GetCallerIdentity" => ResponseTemplate::new(200).insert_header("Content-Type", "text/xml").set_body_string(
                format!(
                    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                     <GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/insights</Arn>\
                     <UserId>AIDAFAKE</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult>\
                     <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
                ),
            ),
            other => sts_error(400, "InvalidAction", &format!("the fake does not serve {other}")),
        }
    }
}

fn with_log(response: ResponseTemplate, log_type: Option<&str>, log: &str) -> ResponseTemplate {
    if log_type == Some("Tail") {
        response.insert_header("X-Amz-Log-Result", BASE64.encode(log).as_str())
    } else {
        response
    }
}
