"""HL7 FHIR R4 in and out."""
