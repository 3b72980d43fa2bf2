"""HTTP triggers: function URLs and HTTP APIs, served in AWS's payload format 2.0."""
