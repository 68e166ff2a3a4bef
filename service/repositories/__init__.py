"""All SQL of the service, one module per area: articles (and the requests that created them),
stories, the band index (signatures, LSH bands, corpus statistics) and sources (what each outlet
repeats). Domain code calls these functions with an explicit session; no SQL lives elsewhere."""
