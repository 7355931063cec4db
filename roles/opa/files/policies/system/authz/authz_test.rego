package system.authz_test

import data.system.authz

test_decision_query_allowed if {
	authz.allow with input as {"method": "POST", "path": ["v1", "data", "sovereign", "mcp", "decision"]}
}

test_tools_list_query_allowed if {
	authz.allow with input as {"method": "POST", "path": ["v1", "data", "sovereign", "mcp", "visible_tools"]}
}

test_health_allowed if authz.allow with input as {"method": "GET", "path": ["health"]}

test_reading_the_configuration_refused if {
	not authz.allow with input as {"method": "GET", "path": ["v1", "data", "sovereign", "mcp_config"]}
}

test_replacing_a_policy_refused if {
	not authz.allow with input as {"method": "PUT", "path": ["v1", "policies", "sovereign", "mcp"]}
}

test_other_decisions_refused if {
	not authz.allow with input as {"method": "POST", "path": ["v1", "data", "sovereign", "mcp"]}
}

test_get_of_the_decision_refused if {
	not authz.allow with input as {"method": "GET", "path": ["v1", "data", "sovereign", "mcp", "decision"]}
}
