from tests.email.conftest import mail_outbox  # noqa: F401 - the fixtures, shared with the channels' tests
from tests.sms.conftest import daytime, fake_twilio, never_quiet, twilio_fake, worker_factory  # noqa: F401
