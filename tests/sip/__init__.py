"""Real SIP peers for the tests: a Kamailio registrar/proxy, sipp UAS scenarios, the pjsua2 peer."""
