"""The SharePoint gateway: the only code that imports office365-rest-python-client or msal."""
