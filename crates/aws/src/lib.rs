//! The AWS client of automations (issue 13): credentials in the organization's account (STS AssumeRole with
//! the external id, or a sealed access key pair), the verification of a connection, and Lambda Invoke with
//! its outcomes classified. Used by the worker only, so the API never compiles the AWS SDK.
