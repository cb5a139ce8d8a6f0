//! The IAM role an organization creates so the product may invoke its Lambda functions: a CloudFormation
//! template (YAML) and the same as Terraform (HCL), ready to copy. The role trusts the product's principal
//! only with the connection's external id (`sts:ExternalId`, the confused-deputy guard), and allows
//! `lambda:InvokeFunction` and `lambda:GetFunction` (verification) on the allow-listed functions only.

/// What the templates are made of.
#[derive(Clone, Copy, Debug)]
pub struct RoleTemplate<'a> {
    /// The ARN of the product's own identity, which the role trusts.
    pub principal: &'a str,
    /// The connection's external id.
    pub external_id: &'a str,
    /// The region of the functions (names are turned into ARNs in this region).
    pub region: &'a str,
    /// Function names, `name:qualifier`s, or full ARNs.
    pub functions: &'a [String],
}

/// The name of the role the templates create.
pub const ROLE_NAME: &str = "incident-insights-automations";

/// One function as an ARN pattern: `(partition/account placeholder, name part)`. A full ARN is kept as it is;
/// a partial ARN (`123456789012:function:name`) or a name gets the region and, unless given, the account.
enum Resource {
    Arn(String),
    /// account (None: the stack's own), `function:name[:qualifier]`.
    Local {
        account: Option<String>,
        function: String,
    },
}

fn resource(function: &str) -> Resource {
    let f = function.trim();
    if f.starts_with("arn:") {
        return Resource::Arn(f.to_owned());
    }
    if let Some((account, rest)) = f.split_once(":function:") {
        return Resource::Local {
            account: Some(account.to_owned()),
            function: format!("function:{rest}"),
        };
    }
    Resource::Local {
        account: None,
        function: format!("function:{f}"),
    }
}

/// A YAML double-quoted scalar.
fn yaml(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

/// Literal text inside CloudFormation `!Sub` (where `${` starts a variable).
fn sub_literal(s: &str) -> String {
    s.replace("${", "${!")
}

/// An HCL string (where `${` and `%{` start templates).
fn hcl(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("${", "$${")
            .replace("%{", "%%{")
            .replace('\n', "\\n")
    )
}

/// The CloudFormation template (YAML): the role and its inline policy, and the role's ARN as an output.
#[must_use]
pub fn cloudformation(t: &RoleTemplate<'_>) -> String {
    let mut out = String::new();
    out.push_str("AWSTemplateFormatVersion: \"2010-09-09\"\n");
    out.push_str("Description: Lets Incident Insights invoke the allow-listed Lambda functions of this account.\n");
    out.push_str(
        "Resources:\n  IncidentInsightsRole:\n    Type: AWS::IAM::Role\n    Properties:\n",
    );
    out.push_str(&format!("      RoleName: {ROLE_NAME}\n"));
    out.push_str("      MaxSessionDuration: 3600\n");
    out.push_str(
        "      AssumeRolePolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n",
    );
    out.push_str("          - Effect: Allow\n            Principal:\n");
    out.push_str(&format!("              AWS: {}\n", yaml(t.principal)));
    out.push_str(
        "            Action: sts:AssumeRole\n            Condition:\n              StringEquals:\n",
    );
    out.push_str(&format!(
        "                sts:ExternalId: {}\n",
        yaml(t.external_id)
    ));
    if t.functions.is_empty() {
        out.push_str(
            "      # No function is allow-listed yet: add functions to the connection, then update the stack with\n      \
             # the new template (the role may invoke nothing until then).\n",
        );
    } else {
        out.push_str("      Policies:\n        - PolicyName: invoke-allow-listed-functions\n          PolicyDocument:\n");
        out.push_str("            Version: \"2012-10-17\"\n            Statement:\n              - Effect: Allow\n");
        out.push_str("                Action:\n                  - lambda:InvokeFunction\n                  - lambda:GetFunction\n");
        out.push_str("                Resource:\n");
        for f in t.functions {
            let line = match resource(f) {
                Resource::Arn(arn) => yaml(&arn),
                Resource::Local { account, function } => format!(
                    "!Sub {}",
                    yaml(&format!(
                        "arn:${{AWS::Partition}}:lambda:{}:{}:{}",
                        sub_literal(t.region),
                        account
                            .as_deref()
                            .map(sub_literal)
                            .unwrap_or_else(|| "${AWS::AccountId}".into()),
                        sub_literal(&function)
                    ))
                ),
            };
            out.push_str(&format!("                  - {line}\n"));
        }
    }
    out.push_str("Outputs:\n  RoleArn:\n    Description: Paste this ARN into the AWS connection in Incident Insights.\n");
    out.push_str("    Value: !GetAtt IncidentInsightsRole.Arn\n");
    out
}

/// The Terraform configuration (HCL, AWS provider): the role, its inline policy, and the role's ARN as an
/// output.
#[must_use]
pub fn terraform(t: &RoleTemplate<'_>) -> String {
    let mut out = String::new();
    out.push_str(
        "# Lets Incident Insights invoke the allow-listed Lambda functions of this account.\n",
    );
    out.push_str(
        "data \"aws_caller_identity\" \"current\" {}\ndata \"aws_partition\" \"current\" {}\n\n",
    );
    out.push_str("resource \"aws_iam_role\" \"incident_insights\" {\n");
    out.push_str(&format!("  name                 = {}\n", hcl(ROLE_NAME)));
    out.push_str("  max_session_duration = 3600\n");
    out.push_str(
        "  assume_role_policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{\n",
    );
    out.push_str("      Effect    = \"Allow\"\n");
    out.push_str(&format!(
        "      Principal = {{ AWS = {} }}\n",
        hcl(t.principal)
    ));
    out.push_str("      Action    = \"sts:AssumeRole\"\n");
    out.push_str(&format!(
        "      Condition = {{ StringEquals = {{ \"sts:ExternalId\" = {} }} }}\n",
        hcl(t.external_id)
    ));
    out.push_str("    }]\n  })\n}\n\n");
    if t.functions.is_empty() {
        out.push_str(
            "# No function is allow-listed yet: add functions to the connection, then apply the new configuration\n\
             # (the role may invoke nothing until then).\n\n",
        );
    } else {
        out.push_str("resource \"aws_iam_role_policy\" \"invoke\" {\n  name = \"invoke-allow-listed-functions\"\n");
        out.push_str("  role = aws_iam_role.incident_insights.id\n  policy = jsonencode({\n");
        out.push_str(
            "    Version = \"2012-10-17\"\n    Statement = [{\n      Effect   = \"Allow\"\n",
        );
        out.push_str("      Action   = [\"lambda:InvokeFunction\", \"lambda:GetFunction\"]\n      Resource = [\n");
        for f in t.functions {
            let value = match resource(f) {
                Resource::Arn(arn) => hcl(&arn),
                Resource::Local { account, function } => {
                    let escaped = |s: &str| {
                        let h = hcl(s);
                        h[1..h.len() - 1].to_owned()
                    };
                    format!(
                        "\"arn:${{data.aws_partition.current.partition}}:lambda:{}:{}:{}\"",
                        escaped(t.region),
                        account.as_deref().map(escaped).unwrap_or_else(|| {
                            "${data.aws_caller_identity.current.account_id}".into()
                        }),
                        escaped(&function)
                    )
                }
            };
            out.push_str(&format!("        {value},\n"));
        }
        out.push_str("      ]\n    }]\n  })\n}\n\n");
    }
    out.push_str("output \"role_arn\" {\n  description = \"Paste this ARN into the AWS connection in Incident Insights.\"\n");
    out.push_str("  value       = aws_iam_role.incident_insights.arn\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template<'a>(functions: &'a [String]) -> RoleTemplate<'a> {
        RoleTemplate {
            principal: "arn:aws:iam::999999999999:role/insights",
            external_id: "ext-7f3a",
            region: "eu-west-1",
            functions,
        }
    }

    #[test]
    fn cloudformation_trusts_the_principal_with_the_external_id_and_lists_only_the_functions() {
        let functions = vec![
            "restart-db".to_owned(),
            "flush:prod".to_owned(),
            "arn:aws:lambda:eu-west-1:111122223333:function:other".to_owned(),
            "444455556666:function:partial".to_owned(),
        ];
        let cf = cloudformation(&template(&functions));
        assert!(
            cf.contains("AWS: \"arn:aws:iam::999999999999:role/insights\""),
            "{cf}"
        );
        assert!(cf.contains("sts:ExternalId: \"ext-7f3a\""), "{cf}");
        assert!(cf.contains("- lambda:InvokeFunction\n"));
        assert!(cf.contains("- lambda:GetFunction\n"));
        assert!(cf.contains(
            "- !Sub \"arn:${AWS::Partition}:lambda:eu-west-1:${AWS::AccountId}:function:restart-db\"\n"
        ));
        assert!(cf.contains("function:flush:prod\""));
        assert!(cf.contains("- \"arn:aws:lambda:eu-west-1:111122223333:function:other\"\n"));
        assert!(cf.contains(":lambda:eu-west-1:444455556666:function:partial\""));
        assert_eq!(
            cf.matches("                  - ").count(),
            4 + 2,
            "two actions and four resources"
        );
        assert!(!cf.contains("lambda:*") && !cf.contains("Resource: \"*\""));
    }

    #[test]
    fn terraform_says_the_same() {
        let functions = vec!["restart-db".to_owned()];
        let tf = terraform(&template(&functions));
        assert!(
            tf.contains("Principal = { AWS = \"arn:aws:iam::999999999999:role/insights\" }"),
            "{tf}"
        );
        assert!(tf.contains("\"sts:ExternalId\" = \"ext-7f3a\""), "{tf}");
        assert!(tf.contains(
            "\"arn:${data.aws_partition.current.partition}:lambda:eu-west-1:${data.aws_caller_identity.current.account_id}:function:restart-db\","
        ), "{tf}");
        assert!(tf.contains("[\"lambda:InvokeFunction\", \"lambda:GetFunction\"]"));
        let braces = tf.matches('{').count() as i64 - tf.matches('}').count() as i64;
        assert_eq!(braces, 0, "balanced braces: {tf}");
    }

    #[test]
    fn no_function_means_no_permission() {
        let cf = cloudformation(&template(&[]));
        assert!(
            !cf.contains("Policies:") && !cf.contains("lambda:InvokeFunction"),
            "{cf}"
        );
        let tf = terraform(&template(&[]));
        assert!(
            !tf.contains("aws_iam_role_policy") && !tf.contains("lambda:InvokeFunction"),
            "{tf}"
        );
    }

    #[test]
    fn user_text_cannot_escape_its_string() {
        let functions = vec![
            "evil\"\n  Action: \"*".to_owned(),
            "x${AWS::Region}%{if}".to_owned(),
        ];
        let t = RoleTemplate {
            external_id: "a\"b",
            ..template(&functions)
        };
        let cf = cloudformation(&t);
        assert!(cf.contains("sts:ExternalId: \"a\\\"b\""), "{cf}");
        assert!(!cf.contains("\n  Action: \"*"), "{cf}");
        assert!(cf.contains("function:x${!AWS::Region}"), "{cf}");
        let tf = terraform(&t);
        assert!(tf.contains("\"sts:ExternalId\" = \"a\\\"b\""), "{tf}");
        assert!(tf.contains("function:x$${AWS::Region}%%{if}"), "{tf}");
        assert!(!tf.contains("evil\"\n"), "{tf}");
    }
}
