from medvault.platform.redact import safe_error


def test_quoted_values_never_reach_the_message():
    exc = ValueError("Conversion Error: Could not convert string '0101011234' to INT32 in column \"chi\"")
    text = safe_error(exc)
    assert "0101011234" not in text and "chi" not in text
    assert text.startswith("ValueError: Conversion Error: Could not convert string <value> to INT32")
