import json
import logging


class JsonMessageFormatter(logging.Formatter):
    """Formats the message as a JSON string so each log line parses as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        record.message_json = json.dumps(message, ensure_ascii=False)
        return super().format(record)
