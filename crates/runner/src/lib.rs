//! The reference runner (issue 13): a Lambda function, deployed in the organization's own account, that runs
//! a runbook step's command on instances chosen by tag through SSM Run Command and returns its output.
