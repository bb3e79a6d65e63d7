"""SUNAT facts: endpoints, SOAP client, fault classification."""
