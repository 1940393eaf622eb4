use super::*;

/// Roughly Tajikistan, as the demo configuration has it.
fn tajikistan() -> BoundingBox {
    BoundingBox::new(36.67, 67.34, 41.05, 75.15).unwrap()
}

fn codes(errors: &[FieldError]) -> Vec<(String, &'static str)> {
    errors.iter().map(|e| (e.field.clone(), e.code)).collect()
}

#[test]
fn subject_counts_characters_not_bytes() {
    // 'ҷ' is two bytes in UTF-8, so 300 of them are 600 bytes and must still pass.
    let max = "ҷ".repeat(300);
    assert_eq!(max.len(), 600);
    assert_eq!(Subject::parse(&max).unwrap().as_str().chars().count(), 300);
    assert_eq!(Subject::parse(&"ҷ".repeat(301)).unwrap_err(), FieldError::too_long("subject", 300));
    // 300 ASCII characters pass, 301 fail: the limit is the same whatever the script.
    assert!(Subject::parse(&"a".repeat(300)).is_ok());
    assert!(Subject::parse(&"a".repeat(301)).is_err());
}

#[test]
fn subject_is_trimmed_normalised_and_single_line() {
    assert_eq!(Subject::parse("  Об воде  ").unwrap().as_str(), "Об воде");
    assert_eq!(Subject::parse("   ").unwrap_err(), FieldError::empty("subject"));
    assert_eq!(Subject::parse("").unwrap_err().code, "empty");
    // "й" written as "и" + combining breve is one character after NFC.
    let decomposed = "и\u{0306}".repeat(300);
    assert_eq!(decomposed.chars().count(), 600);
    let subject = Subject::parse(&decomposed).unwrap();
    assert_eq!(subject.as_str(), "й".repeat(300));
    assert_eq!(Subject::parse("line one\nline two").unwrap_err().code, "invalid_character");
    assert_eq!(Subject::parse("bell\u{7}").unwrap_err().code, "invalid_character");
}

#[test]
fn long_texts_have_their_own_limits() {
    type Parse = fn(&str) -> Result<(), FieldError>;
    let cases: [(Parse, &str, usize); 5] = [
        (|s| AppealText::parse(s).map(drop), "text", 20_000),
        (|s| AnswerText::parse(s).map(drop), "text", 20_000),
        (|s| ReasonText::parse(s).map(drop), "reason", 2_000),
        (|s| MessageText::parse(s).map(drop), "text", 5_000),
        (|s| PostalAddress::parse(s).map(drop), "postal_address", 500),
    ];
    for (parse, field, max) in cases {
        assert_eq!(parse(&"ӯ".repeat(max)), Ok(()), "{field} at {max}");
        assert_eq!(parse(&"ӯ".repeat(max + 1)), Err(FieldError::too_long(field, max)), "{field} over {max}");
        assert_eq!(parse(" \n\t "), Err(FieldError::empty(field)));
        // Line breaks and tabs are fine inside; other control characters are not.
        assert_eq!(parse("первая строка\r\nвторая\tстрока"), Ok(()));
        assert_eq!(parse("nul\u{0}byte").unwrap_err().code, "invalid_character");
    }
}

#[test]
fn names_need_a_letter() {
    assert_eq!(PersonName::parse(" Раҳимов Фаррух ").unwrap().as_str(), "Раҳимов Фаррух");
    assert_eq!(PersonName::parse("12345").unwrap_err().code, "invalid");
    assert!(PersonName::parse(&"Ӣ".repeat(200)).is_ok());
    assert_eq!(PersonName::parse(&"Ӣ".repeat(201)).unwrap_err().code, "too_long");
}

#[test]
fn emails_are_checked_pragmatically() {
    let email = Email::parse("  Farrukh.Rahimov+appeals@Mail.TJ ").unwrap();
    assert_eq!(email.as_str(), "Farrukh.Rahimov+appeals@mail.tj");
    assert_eq!(email.normalized(), "farrukh.rahimov+appeals@mail.tj");
    assert_eq!(Email::parse("a@XN--D1ACUFC.XN--P1AI").unwrap().as_str(), "a@xn--d1acufc.xn--p1ai");
    for bad in [
        "no-at-sign",
        "@mail.tj",
        "user@",
        "user@localhost",
        "user@mail..tj",
        "user@-mail.tj",
        "user@mail.t",
        "user@127.0.0.1",
        "us er@mail.tj",
        ".user@mail.tj",
        "user.@mail.tj",
        "us..er@mail.tj",
        "юзер@mail.tj",
        "user@почта.тҷ",
    ] {
        assert_eq!(Email::parse(bad).unwrap_err().code, "invalid", "{bad}");
    }
    assert_eq!(Email::parse(" ").unwrap_err().code, "empty");
    let long = format!("{}@{}.tj", "a".repeat(64), "b".repeat(63));
    assert!(Email::parse(&long).is_ok());
    let local_too_long = format!("{}@mail.tj", "a".repeat(65));
    assert_eq!(Email::parse(&local_too_long).unwrap_err().code, "invalid");
    let too_long = format!("a@{}.tj", vec!["b".repeat(63); 4].join("."));
    assert_eq!(Email::parse(&too_long).unwrap_err().code, "too_long");
}

#[test]
fn tajik_tax_ids_are_nine_digits() {
    assert_eq!(TaxId::parse(" 020012345 ").unwrap().as_str(), "020012345");
    for bad in ["02001234", "0200123456", "02001234X", "０２００１２３４５", "020 012 345"] {
        assert_eq!(TaxId::parse(bad).unwrap_err().code, "invalid", "{bad}");
    }
    assert_eq!(TaxId::parse("").unwrap_err().code, "empty");
    let entity = LegalEntity::parse("ҶДММ «Обу Об»", "123456789").unwrap();
    assert_eq!(entity.name().as_str(), "ҶДММ «Обу Об»");
    assert_eq!(LegalEntity::parse("ҶДММ", "12").unwrap_err().field, "legal_entity.tax_id");
    assert_eq!(LegalEntity::parse(" ", "123456789").unwrap_err().field, "legal_entity.name");
}

#[test]
fn co_signers_limits() {
    let names = |n: usize| (0..n).map(|i| format!("Ҳамроҳ {i}")).collect::<Vec<_>>();
    let two = CoSigners::parse(2, &names(1)).unwrap();
    assert_eq!((two.count(), two.names().len()), (2, 1));
    assert_eq!(CoSigners::parse(1, &names(1)).unwrap_err().field, "co_signers.count");
    assert_eq!(CoSigners::parse(10_001, &names(1)).unwrap_err().code, "too_large");
    assert!(CoSigners::parse(10_000, &names(200)).is_ok());
    assert_eq!(CoSigners::parse(10_000, &names(201)).unwrap_err().code, "too_many");
    // No more names than co-signers: the applicant is not listed.
    assert_eq!(CoSigners::parse(3, &names(3)).unwrap_err().code, "too_many");
    assert_eq!(CoSigners::parse(3, &[]).unwrap_err().code, "empty");
    let bad = vec!["Али".to_owned(), "42".to_owned()];
    assert_eq!(CoSigners::parse(5, &bad).unwrap_err().field, "co_signers.names[1]");
}

#[test]
fn coordinates_must_lie_in_the_configured_box() {
    let bounds = tajikistan();
    let dushanbe = Coordinates::parse(38.5598, 68.7870, &bounds).unwrap();
    assert_eq!((dushanbe.lat(), dushanbe.lon()), (38.5598, 68.7870));
    assert!(Coordinates::parse(36.67, 75.15, &bounds).is_ok(), "edges are inside");
    let tashkent = Coordinates::parse(41.2995, 69.2401, &bounds).unwrap_err();
    assert_eq!((tashkent.field.as_str(), tashkent.code), ("location", "out_of_bounds"));
    assert_eq!(Coordinates::parse(f64::NAN, 68.0, &bounds).unwrap_err().code, "invalid");
    assert_eq!(Coordinates::parse(38.0, f64::INFINITY, &bounds).unwrap_err().code, "invalid");
}

#[test]
fn bounding_boxes_from_configuration_are_checked() {
    assert_eq!(BoundingBox::new(41.0, 67.0, 36.0, 75.0), Err(BoundingBoxError));
    assert_eq!(BoundingBox::new(36.0, 67.0, 91.0, 75.0), Err(BoundingBoxError));
    assert_eq!(BoundingBox::new(36.0, f64::NAN, 41.0, 75.0), Err(BoundingBoxError));
    let parsed: BoundingBox =
        serde_json::from_str(r#"{"min_lat": 36.67, "min_lon": 67.34, "max_lat": 41.05, "max_lon": 75.15}"#)
            .unwrap();
    assert_eq!(parsed, tajikistan());
    assert!(
        serde_json::from_str::<BoundingBox>(
            r#"{"min_lat": 41.05, "min_lon": 67.34, "max_lat": 36.67, "max_lon": 75.15}"#
        )
        .is_err()
    );
}

#[test]
fn reference_codes_are_lowercased_slugs() {
    assert_eq!(ReferenceCode::parse("category", " Water_Supply ").unwrap().as_str(), "water_supply");
    assert_eq!(ReferenceCode::parse("region", "sughd.khujand").unwrap().as_str(), "sughd.khujand");
    let err = ReferenceCode::parse("district", "Рӯдакӣ").unwrap_err();
    assert_eq!((err.field.as_str(), err.code), ("district", "invalid"));
    assert_eq!(ReferenceCode::parse("category", &"a".repeat(65)).unwrap_err().code, "too_long");
}

fn complaint() -> RawAppeal {
    RawAppeal {
        kind: Some("complaint".into()),
        subject: Some("Оби нӯшокӣ нест".into()),
        text: Some("Се ҳафта аст, ки дар маҳаллаи мо оби нӯшокӣ нест.".into()),
        category: Some("water_supply".into()),
        region: Some("dushanbe".into()),
        district: Some("dushanbe.sino".into()),
        language: Some("tg".into()),
        ..RawAppeal::default()
    }
}

#[test]
fn a_citizens_complaint_parses() {
    let appeal = NewAppeal::parse(&complaint(), Filer::Citizen, &tajikistan()).unwrap();
    assert_eq!(appeal.kind, AppealKind::Complaint);
    assert_eq!(appeal.language, Locale::Tg);
    assert_eq!(appeal.applicant, Applicant::Person);
    assert_eq!(appeal.district.as_ref().unwrap().as_str(), "dushanbe.sino");
    assert!(!appeal.is_collective());
    assert_eq!(appeal.contact, Contact::default());
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let raw = RawAppeal {
        kind: Some("petition".into()),
        subject: Some("ҷ".repeat(301)),
        text: None,
        category: Some("".into()),
        region: None,
        district: Some("bad code!".into()),
        location: Some(RawLocation { lat: 55.75, lon: 37.62 }),
        co_signers: Some(RawCoSigners { count: 1, names: vec![] }),
        applicant_type: Some("legal_entity".into()),
        legal_entity: Some(RawLegalEntity { name: Some("ҶДММ".into()), tax_id: Some("123".into()) }),
        language: Some("de".into()),
        name: Some("Раҳимов".into()),
        email: Some("x@mail.tj".into()),
        postal_address: Some(" ".into()),
    };
    let errors = NewAppeal::parse(&raw, Filer::Citizen, &tajikistan()).unwrap_err();
    let want: Vec<(String, &str)> = [
        ("kind", "invalid"),
        ("subject", "too_long"),
        ("text", "required"),
        ("category", "empty"),
        ("region", "required"),
        ("district", "invalid"),
        ("location", "out_of_bounds"),
        ("co_signers.count", "too_small"),
        ("language", "invalid"),
        ("legal_entity.tax_id", "invalid"),
        ("name", "not_allowed"),
        ("email", "not_allowed"),
        ("postal_address", "empty"),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_owned(), c))
    .collect();
    assert_eq!(codes(&errors), want);
}

#[test]
fn guests_must_give_name_email_and_address() {
    let errors = NewAppeal::parse(&complaint(), Filer::Guest, &tajikistan()).unwrap_err();
    assert_eq!(
        codes(&errors),
        vec![
            ("name".to_owned(), "required"),
            ("email".to_owned(), "required"),
            ("postal_address".to_owned(), "required"),
        ]
    );
    let raw = RawAppeal {
        name: Some("Раҳимов Фаррух".into()),
        email: Some("farrukh@MAIL.tj".into()),
        postal_address: Some("ш. Душанбе, кӯч. Рӯдакӣ 1".into()),
        ..complaint()
    };
    let appeal = NewAppeal::parse(&raw, Filer::Guest, &tajikistan()).unwrap();
    assert_eq!(appeal.contact.email.unwrap().as_str(), "farrukh@mail.tj");
}

#[test]
fn officials_may_enter_anonymous_letters() {
    let appeal = NewAppeal::parse(&complaint(), Filer::OfficialEntry, &tajikistan()).unwrap();
    assert_eq!(appeal.contact, Contact::default());
}

#[test]
fn legal_entities_and_collective_appeals() {
    let raw = RawAppeal {
        applicant_type: Some("legal_entity".into()),
        legal_entity: Some(RawLegalEntity {
            name: Some("ҶДММ «Обу Об»".into()),
            tax_id: Some("123456789".into()),
        }),
        co_signers: Some(RawCoSigners { count: 40, names: vec!["Шарипова Мадина".into()] }),
        location: Some(RawLocation { lat: 38.56, lon: 68.79 }),
        ..complaint()
    };
    let appeal = NewAppeal::parse(&raw, Filer::Citizen, &tajikistan()).unwrap();
    assert_eq!(appeal.applicant.applicant_type(), ApplicantType::LegalEntity);
    assert!(appeal.is_collective());
    assert!(appeal.location.is_some());

    let missing = RawAppeal { applicant_type: Some("legal_entity".into()), ..complaint() };
    let errors = NewAppeal::parse(&missing, Filer::Citizen, &tajikistan()).unwrap_err();
    assert_eq!(codes(&errors), vec![("legal_entity".to_owned(), "required")]);

    let stray = RawAppeal { legal_entity: Some(RawLegalEntity::default()), ..complaint() };
    let errors = NewAppeal::parse(&stray, Filer::Citizen, &tajikistan()).unwrap_err();
    assert_eq!(codes(&errors), vec![("legal_entity".to_owned(), "not_allowed")]);
}

#[test]
fn server_set_fields_cannot_be_sent() {
    for field in ["channel", "status", "agency", "deadline"] {
        let json = format!(r#"{{"kind": "complaint", "{field}": "x"}}"#);
        let err = serde_json::from_str::<RawAppeal>(&json).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{field}: {err}");
    }
}
