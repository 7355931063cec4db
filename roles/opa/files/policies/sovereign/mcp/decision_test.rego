# Unit tests of the default policy, run by `opa test` on the host before a policy is activated
# and by tests/integration/test_opa_policy.py. Each test states one rule of the decision contract.
package sovereign.mcp_test

import data.sovereign.mcp

cfg := {
	"workspace_roots": ["/srv/workspace", "/srv/shared/"],
	"clients": {
		"alice": {"servers": {
			"filesystem": ["read_text_file", "list_directory", "write_file", "delete_file", "move_file"],
			"git": ["*"],
			"ops": ["*", "run_command"],
		}},
		"bob": {"servers": {"filesystem": ["read_text_file"]}},
	},
	"shell_tools": ["run_command", "execute", "exec", "shell", "bash", "run_shell", "terminal"],
	"destructive_tools": ["delete_file", "move_file", "remove", "rename"],
}

# A call whose tool takes the argument "path" when it names paths, and no path argument otherwise.
call(client, server, tool, paths) := {
	"client": client,
	"server": server,
	"tool": tool,
	"arguments": {"path": paths},
	"paths": paths,
	"path_errors": [],
	"path_arguments": declared(paths),
}

declared(paths) := ["path"] if {
	count(paths) > 0
} else := []

decide(request) := result if {
	result := mcp.decision with data.sovereign.mcp_config as cfg with input as request
}

allowed(request) if decide(request).allow == true

denied(request) if decide(request).allow == false

denied_because(request, reason) if {
	result := decide(request)
	result.allow == false
	reason in result.reasons
}

# Allowed per client

test_alice_reads_a_workspace_file if allowed(call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]))

test_alice_writes_a_workspace_file if allowed(call("alice", "filesystem", "write_file", ["/srv/workspace/dir/b.md"]))

test_bob_reads_a_workspace_file if allowed(call("bob", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]))

test_second_root_with_trailing_slash_in_config if {
	allowed(call("bob", "filesystem", "read_text_file", ["/srv/shared/notes.txt"]))
}

test_tool_without_paths_is_allowed if allowed(call("alice", "git", "git_status", []))

test_allow_explains_itself if {
	decide(call("bob", "filesystem", "read_text_file", ["/srv/workspace/a.txt"])) == {
		"allow": true,
		"reasons": ["tool read_text_file allowed for client bob on server filesystem"],
		"refusals": [],
	}
}

test_bob_may_not_write if {
	denied_because(
		call("bob", "filesystem", "write_file", ["/srv/workspace/a.txt"]),
		"tool write_file not allowed for client bob on server filesystem",
	)
}

test_bob_has_no_git if {
	denied_because(call("bob", "git", "git_status", []), "server git is not configured for client bob")
}

# Unknown client, tool or server

test_unknown_client_denied if {
	denied_because(call("mallory", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]), "client mallory is not configured")
}

test_unknown_server_denied if {
	denied_because(call("alice", "postgres", "query", []), "server postgres is not configured for client alice")
}

test_unknown_tool_denied if {
	denied_because(
		call("alice", "filesystem", "chmod", ["/srv/workspace/a.txt"]),
		"tool chmod not allowed for client alice on server filesystem",
	)
}

test_tool_names_are_case_sensitive if denied(call("bob", "filesystem", "Read_Text_File", ["/srv/workspace/a.txt"]))

test_tool_named_star_is_not_a_wildcard_match if denied(call("alice", "filesystem", "*", ["/srv/workspace/a.txt"]))

test_empty_client_denied if {
	denied_because(call("", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]), "input.client is missing or not a non-empty string")
}

test_client_not_a_string_denied if denied(call(["alice"], "filesystem", "read_text_file", ["/srv/workspace/a.txt"]))

test_missing_fields_denied if {
	result := mcp.decision with data.sovereign.mcp_config as cfg with input as {"client": "alice"}
	result.allow == false
	"input.tool is missing or not a non-empty string" in result.reasons
	"input.server is missing or not a non-empty string" in result.reasons
	"input.paths is missing or not a list" in result.reasons
	"input.path_errors is missing or not a list" in result.reasons
}

test_no_input_denied if {
	result := mcp.decision with data.sovereign.mcp_config as cfg
	result.allow == false
	count(result.reasons) > 0
}

test_empty_configuration_denies_everything if {
	every config in [{}, "not an object", []] {
		result := mcp.decision with data.sovereign.mcp_config as config
			with input as call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"])
		result.allow == false
		"client alice is not configured" in result.reasons
	}
}

test_paths_not_a_list_denied if {
	request := object.union(call("alice", "filesystem", "read_text_file", []), {"paths": "/srv/workspace/a.txt"})
	denied_because(request, "input.paths is missing or not a list")
}

# "*" and shell-like tools

test_wildcard_allows_ordinary_tools if allowed(call("alice", "git", "git_log", ["/srv/workspace/repo"]))

test_wildcard_does_not_allow_shell_tools if {
	every tool in ["run_command", "execute", "exec", "shell", "bash", "run_shell", "terminal", "sh"] {
		denied_because(
			call("alice", "git", tool, []),
			sprintf("tool %s is shell-like and \"*\" does not allow it: list it by name for client alice on server git", [tool]),
		)
	}
}

test_wildcard_does_not_allow_mixed_case_shell_tools if {
	every tool in ["Bash", "RUN_COMMAND", "Shell"] {
		denied(call("alice", "git", tool, []))
	}
}

test_shell_tool_listed_by_name_is_allowed if allowed(call("alice", "ops", "run_command", []))

test_only_the_listed_shell_tool_is_allowed if denied(call("alice", "ops", "bash", []))

test_builtin_shell_tools_hold_without_configured_list if {
	result := mcp.decision with data.sovereign.mcp_config as object.remove(cfg, ["shell_tools"])
		with input as call("alice", "git", "bash", [])
	result.allow == false
}

test_configured_shell_tools_add_to_the_builtin_ones if {
	config := object.union(cfg, {"shell_tools": ["powershell"]})
	result := mcp.decision with data.sovereign.mcp_config as config with input as call("alice", "git", "powershell", [])
	result.allow == false
}

# path_errors

test_path_errors_deny if {
	request := object.union(call("alice", "filesystem", "read_text_file", []), {"path_errors": ["path: relative path 'a.txt'"]})
	denied_because(request, "the gateway could not normalise every path: path: relative path 'a.txt'")
}

test_path_errors_deny_even_with_good_paths if {
	request := object.union(
		call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]),
		{"path_errors": ["source: not a string"]},
	)
	denied(request)
}

test_path_errors_not_a_list_denied if {
	request := object.union(call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]), {"path_errors": "oops"})
	denied_because(request, "input.path_errors is missing or not a list")
}

# Confinement to the workspace roots

test_the_root_itself_may_be_listed if allowed(call("alice", "filesystem", "list_directory", ["/srv/workspace"]))

test_the_root_with_trailing_slash_may_be_listed if allowed(call("alice", "filesystem", "list_directory", ["/srv/workspace/"]))

test_outside_the_roots_denied if {
	denied_because(
		call("alice", "filesystem", "read_text_file", ["/etc/shadow"]),
		"path \"/etc/shadow\" is outside the workspace roots [\"/srv/shared\", \"/srv/workspace\"]",
	)
}

test_prefix_confusion_denied if {
	every path in ["/srv/workspace-evil/x", "/srv/workspace-evil", "/srv/workspacex", "/srv/work", "/srv"] {
		denied(call("alice", "filesystem", "read_text_file", [path]))
	}
}

test_one_bad_path_denies_the_call if {
	denied(call("alice", "filesystem", "move_file", ["/srv/workspace/a.txt", "/tmp/a.txt"]))
}

test_paths_are_case_sensitive if denied(call("alice", "filesystem", "read_text_file", ["/SRV/Workspace/a.txt"]))

test_path_not_a_string_denied if {
	denied_because(call("alice", "filesystem", "read_text_file", [42]), "path 42 is not a string")
}

test_invalid_roots_are_ignored if {
	config := object.union(cfg, {"workspace_roots": ["relative/dir", "/srv/../etc", 7]})
	result := mcp.decision with data.sovereign.mcp_config as config
		with input as call("alice", "filesystem", "read_text_file", ["/etc/passwd"])
	result.allow == false
}

test_no_roots_deny_every_path if {
	config := object.remove(cfg, ["workspace_roots"])
	result := mcp.decision with data.sovereign.mcp_config as config
		with input as call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"])
	result.allow == false
}

# Traversal and encodings, as a gateway that forwards raw paths would send them

test_traversal_denied_even_when_it_starts_inside if {
	denied_because(
		call("alice", "filesystem", "read_text_file", ["/srv/workspace/../../etc/shadow"]),
		"path \"/srv/workspace/../../etc/shadow\" contains a '.' or '..' segment",
	)
}

test_the_startswith_bug_class_is_closed if {
	every path in ["/srv/workspace/../etc/shadow", "/srv/workspace/..", "/srv/workspace/a/../../x", "/srv/workspace/./a"] {
		denied(call("alice", "filesystem", "read_text_file", [path]))
	}
}

test_encoded_paths_denied if {
	every path in [
		"/srv/workspace/%2e%2e/etc/shadow",
		"/srv/workspace/%2E%2E%2Fetc%2Fshadow",
		"/srv/workspace/%252e%252e/etc",
		"/srv/workspace/a%00.txt",
	] {
		denied_because(call("alice", "filesystem", "read_text_file", [path]), sprintf("path %q contains '%%'", [path]))
	}
}

test_repeated_slashes_denied if {
	denied_because(
		call("alice", "filesystem", "read_text_file", ["/srv/workspace//a.txt"]),
		"path \"/srv/workspace//a.txt\" contains '//'",
	)
}

test_backslash_denied if {
	denied(call("alice", "filesystem", "read_text_file", ["/srv/workspace/..\\..\\etc\\shadow"]))
}

test_nul_byte_denied if {
	denied(call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt\u0000/etc/shadow"]))
}

test_relative_path_denied if {
	every path in ["srv/workspace/a.txt", "a.txt", "../etc/shadow", "", "~/a.txt"] {
		denied(call("alice", "filesystem", "read_text_file", [path]))
	}
}

# Destructive tools

test_delete_inside_the_workspace_allowed if allowed(call("alice", "filesystem", "delete_file", ["/srv/workspace/old.txt"]))

test_move_inside_the_workspace_allowed if {
	allowed(call("alice", "filesystem", "move_file", ["/srv/workspace/a.txt", "/srv/shared/a.txt"]))
}

test_move_out_of_the_workspace_denied if {
	denied(call("alice", "filesystem", "move_file", ["/srv/workspace/a.txt", "/root/a.txt"]))
}

test_delete_outside_the_workspace_denied if denied(call("alice", "filesystem", "delete_file", ["/etc/passwd"]))

test_destructive_tools_may_not_target_a_root if {
	every path in ["/srv/workspace", "/srv/workspace/", "/srv/shared"] {
		denied_because(
			call("alice", "filesystem", "delete_file", [path]),
			sprintf("destructive tool delete_file may not target the workspace root %q itself", [path]),
		)
	}
}

test_moving_a_root_away_denied if {
	denied(call("alice", "filesystem", "move_file", ["/srv/workspace", "/srv/shared/workspace"]))
}

test_destructive_tool_without_paths_denied if {
	denied_because(call("alice", "filesystem", "delete_file", []), "destructive tool delete_file needs a path inside a workspace root")
}

test_destructive_tool_names_compare_case_insensitively if {
	config := object.union(cfg, {"clients": {"carol": {"servers": {"fs": ["Delete_File"]}}}})
	result := mcp.decision with data.sovereign.mcp_config as config
		with input as call("carol", "fs", "Delete_File", ["/srv/workspace"])
	result.allow == false
}

test_every_reason_is_reported if {
	result := decide(call("bob", "filesystem", "delete_file", ["/etc/../etc/shadow", "/srv/workspace"]))
	result.allow == false
	count(result.reasons) >= 4
}

# A tool that takes a path, called without one (the gateway refuses first; this is the second line)

test_path_tool_without_paths_denied if {
	request := object.union(call("alice", "filesystem", "read_text_file", []), {"path_arguments": ["path"]})
	denied_because(request, "tool read_text_file takes a path (path) and the call names none")
}

test_path_tool_without_paths_names_the_rule if {
	request := object.union(call("alice", "filesystem", "move_file", []), {"path_arguments": ["destination", "source"]})
	"path_missing: tool move_file takes a path (destination, source) and the call names none" in decide(request).refusals
}

test_path_arguments_may_be_left_out if {
	allowed(object.remove(call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"]), ["path_arguments"]))
}

test_path_arguments_not_a_list_denied if {
	request := object.union(call("alice", "git", "git_status", []), {"path_arguments": "path"})
	denied_because(request, "input.path_arguments is not a list")
}

# Control characters and lookalikes of "/" and "." (a gateway that forwards raw paths)

test_control_characters_denied if {
	every path in ["/srv/workspace/a\nb", "/srv/workspace/\u202etxt", "/srv/workspace/a\u0085", "/srv/workspace/\u200b", "/srv/workspace/a\u2028"] {
		denied_because(call("alice", "filesystem", "read_text_file", [path]), sprintf("path %q contains a control or format character", [path]))
	}
}

test_lookalikes_denied if {
	every path in [
		"/srv/workspace/\u2025/etc/shadow",
		"/srv/workspace/\uff0e\uff0e/etc",
		"/srv/workspace/..\u2215etc",
		"/srv/workspace/..\u2044etc",
		"/srv/workspace/.\u0338.",
		"/srv/workspace/\u2024\u2024/etc",
		"/srv/workspace/..\uff0fetc",
	] {
		denied_because(call("alice", "filesystem", "read_text_file", [path]), sprintf("path %q contains a lookalike of '/' or '.'", [path]))
	}
}

test_accented_names_allowed if allowed(call("alice", "filesystem", "read_text_file", ["/srv/workspace/caf\u00e9.txt"]))

# What the client reads: the rules, never a path or a root

test_refusals_name_the_rule_not_the_path if {
	result := decide(call("alice", "filesystem", "read_text_file", ["/etc/shadow"]))
	result.refusals == ["path_outside_workspace: a path is outside the workspace roots"]
	"path \"/etc/shadow\" is outside the workspace roots [\"/srv/shared\", \"/srv/workspace\"]" in result.reasons
}

test_refusals_never_hold_a_path if {
	result := decide(call("bob", "filesystem", "delete_file", ["/etc/../etc/shadow", "/srv/workspace", "/srv/workspace/a%2e"]))
	count(result.refusals) >= 4
	every refusal in result.refusals {
		not contains(refusal, "/srv")
		not contains(refusal, "/etc")
	}
}

test_an_allow_has_no_refusals if decide(call("alice", "git", "git_status", [])).refusals == []

test_a_site_rule_is_refused_without_its_text if {
	result := mcp.decision with data.sovereign.mcp_config as cfg
		with data.sovereign.mcp.deny as {"blocked by the site between 22:00 and 06:00"}
		with input as call("alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"])
	result.allow == false
	result.refusals == ["site_policy: a policy rule of this site denies the call (the audit log has its reason)"]
	result.reasons == ["blocked by the site between 22:00 and 06:00"]
}

# tools/list: what a client may see

tools_of(client, entries) := tools if {
	tools := mcp.visible_tools with data.sovereign.mcp_config as cfg with input as {"client": client, "tools": entries}
}

every_tool := [
	{"server": "filesystem", "tool": "read_text_file"},
	{"server": "filesystem", "tool": "write_file"},
	{"server": "git", "tool": "git_status"},
	{"server": "git", "tool": "bash"},
	{"server": "ops", "tool": "run_command"},
	{"server": "ops", "tool": "bash"},
]

test_visible_tools_follow_the_client_lists if {
	tools_of("bob", every_tool) == [{"server": "filesystem", "tool": "read_text_file"}]
}

test_visible_tools_keep_shell_tools_behind_a_wildcard_hidden if {
	tools_of("alice", every_tool) == [
		{"server": "filesystem", "tool": "read_text_file"},
		{"server": "filesystem", "tool": "write_file"},
		{"server": "git", "tool": "git_status"},
		{"server": "ops", "tool": "run_command"},
	]
}

test_visible_tools_unknown_client_sees_nothing if tools_of("mallory", every_tool) == []

test_visible_tools_ignore_malformed_entries if {
	tools_of("bob", [{"server": "filesystem"}, "read_text_file", {"server": 1, "tool": "read_text_file"}]) == []
}
