package system.log_test

import data.system.log

test_arguments_masked if "/input/arguments" in log.mask with input as {"input": {"arguments": {"content": "x"}}}

test_paths_kept if {
	not "/input/paths" in log.mask with input as {"input": {"paths": ["/srv/workspace/a.txt"]}}
}

test_only_arguments_masked if count(log.mask) == 1 with input as {"input": {"arguments": {}}}
