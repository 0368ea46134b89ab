"""`python app.py setup`, then `python app.py`: what setup wrote is all the app needs to place a call."""

from __future__ import annotations

import signal

from tests.end_to_end.helpers import RunningProcess
from tests.helpers import CALL_TOKEN, TO_NUMBER, VONAGE_NUMBER
from tests.integration.helpers import run_setup_process, settings_left_to_dotenv
from tools.app_process import free_port
from tools.standins.voice_api import VoiceApiStandIn


def test_what_setup_wrote_is_all_python_app_py_needs_to_place_a_call(
    project, account_apis_env, application_api, credentials, tmp_path
):
    assert run_setup_process(project, account_apis_env).returncode == 0
    [(application_id, application)] = application_api.applications.items()
    # The Voice API accepts only JWTs signed with the key Vonage made for the application.
    voice_api = VoiceApiStandIn(application_id, application["keys"]["public_key"], credentials.server_context)
    port = free_port()
    app = RunningProcess(
        settings_left_to_dotenv(
            TO_NUMBER=TO_NUMBER,
            BASE_URL=f"http://127.0.0.1:{port}",
            PORT=str(port),
            CALL_TOKEN=CALL_TOKEN,
            VONAGE_API_HOST=voice_api.host,
            REQUESTS_CA_BUNDLE=str(credentials.ca_path),
        ),
        tmp_path / "app.log",
        script=str(project / "app.py"),
    )
    try:
        assert app.wait_until_serving(), app.log()

        app.place_call()

        [create] = voice_api.sent("create_call")
        assert create.claims["application_id"] == application_id
        assert create.body["from"] == {"type": "phone", "number": VONAGE_NUMBER}
        assert voice_api.rejected == []
    finally:
        app.stop(signal.SIGTERM)
        voice_api.close()
