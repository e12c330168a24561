"""The console's Alerts page over HTTP: an Owner adds a webhook channel (its secret shown
once) and a rule, a bad time zone is refused next to the form with nothing written, a test
queues a sample, and forms without their CSRF token are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient

from console.test_console_http import csrf, sign_up


def test_an_owner_adds_a_channel_and_a_rule_and_tests_it(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    page = f"{org}/alerts"
    assert 'href="' + page + '"' in client.get(org).text  # in the navigation
    created = client.post(f"{page}/channels", data={
        "csrf_token": csrf(client, page), "name": "hook", "kind": "webhook",
        "target": "http://127.0.0.1:9/hook"})
    assert created.status_code == 200, created.text
    assert 'id="new-secret"' in created.text and "whsec_" in created.text
    listed = client.get(page).text
    assert "hook" in listed and "whsec_" not in listed

    refused = client.post(f"{page}/rules", data={
        "csrf_token": csrf(client, page), "name": "morning", "kind": "dag-deadline",
        "deadline": "07:30", "timezone": "Mars/Olympus", "channels": []})
    assert refused.status_code == 422
    assert "timezone: &#39;Mars/Olympus&#39; is not an IANA time zone" in refused.text
    assert "Test morning" not in refused.text

    channel_id = listed.split('name="channels" value="')[1].split('"')[0]
    added = client.post(f"{page}/rules", data={
        "csrf_token": csrf(client, page), "name": "morning", "kind": "dag-deadline",
        "deadline": "07:30", "timezone": "Europe/Paris", "channels": [channel_id]},
        follow_redirects=True)
    assert added.status_code == 200 and "Test morning" in added.text
    assert "07:30 Europe/Paris" in added.text

    rule_id = added.text.split("/alerts/rules/")[1].split("/")[0]
    tested = client.post(f"{page}/rules/{rule_id}/test", data={"csrf_token": csrf(client, page)})
    assert "a sample alert is queued to 1 channel(s)" in tested.text
    assert "[flightdeck test]" in tested.text  # the delivery is listed, pending
    forged = client.post(f"{page}/rules/{rule_id}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert "Test morning" in client.get(page).text
