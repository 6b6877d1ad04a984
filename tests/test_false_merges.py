"""Pairs of unrelated articles that share only what does not identify an event (a weekday, a
month, a date, a clock time, a bare number, a link, a markup fragment, boilerplate): never one
story. And pairs telling one event in other words: one story. All texts written for this test."""

from __future__ import annotations

import pytest

from digest.stories.grouping import Item, group

URL = "Read more at https://news.example.org/city/latest?utm_source=mail"
# (what the two share, first headline, first text, second headline, second text)
APART = [
    ("weekday", "Council approves tram extension on Tuesday",
     "The council approved the tram extension to the harbour on Tuesday.",
     "Library extends opening hours from Tuesday",
     "The city library opens two hours longer from Tuesday."),
    ("weekday", "Bakery chain opens on Monday", "A bakery chain opens its first shop on Monday.",
     "Swimming pool closes for repairs on Monday",
     "The public pool closes for two weeks of repairs on Monday."),
    ("weekday", "Storm warning issued for Friday",
     "Forecasters expect gales along the coast on Friday.",
     "Book fair begins Friday", "Two hundred publishers gather at the book fair from Friday."),
    ("weekday", "Rail strike called off before Wednesday",
     "Train drivers cancelled the strike planned for Wednesday.",
     "Wednesday farmers market moves indoors",
     "The farmers market will be held in the old hall every Wednesday."),
    ("weekday", "Sunday shopping ban stays", "Parliament kept the ban on Sunday trading for shops.",
     "Marathon closes roads on Sunday", "Runners will take over the ring road on Sunday morning."),
    ("month", "Parking meters get new prices from March",
     "Drivers will pay more at parking meters from March, the city said.",
     "Comet visible to the naked eye in March",
     "Astronomers say the comet will be visible without a telescope in March."),
    ("month", "Farmers protest fuel prices in January",
     "Farmers drove tractors into the capital in January over fuel prices.",
     "Orchestra announces January concerts",
     "The city orchestra announced a series of concerts for January."),
    ("month", "Airport terminal to reopen in June",
     "The renovated terminal will take passengers again in June.",
     "Strawberry harvest starts early this June",
     "Growers began picking strawberries in the first week of June."),
    ("month", "Tax forms due by April",
     "Residents must file their tax returns by the end of April.",
     "Zoo names April's newborn giraffe",
     "Visitors voted on a name for the giraffe born in April."),
    ("month", "November floods cost insurers", "Insurers paid out after the floods in November.",
     "Film festival opens in November", "The film festival shows eighty films this November."),
    ("date", "New bridge opens on 12 May", "The new footbridge over the river opens on 12 May.",
     "Election results due on 12 May",
     "The electoral commission will publish results on 12 May."),
    ("date", "School year ends 2026-06-26", "Pupils finish the school year on 2026-06-26.",
     "Factory sale closes 2026-06-26", "The sale of the old factory must be signed by 2026-06-26."),
    ("date", "Ferry fares rise on 1 July", "Ferry tickets cost ten percent more from 1 July.",
     "Smoking ban in parks from 1 July", "Smoking will be banned in all city parks from 1 July."),
    ("date", "Deadline for grant bids: 30 September",
     "Artists can apply for city grants until 30 September.",
     "Bypass construction to finish 30 September",
     "Builders expect to finish the northern bypass by 30 September."),
    ("time", "Zoo welcomes baby elephant at 9:30",
     "A baby elephant was born at the zoo at 9:30 in the morning.",
     "Stock exchange opens late at 9:30", "Trading began late at 9:30 after a computer fault."),
    ("time", "Fireworks start at 22:00", "The new year fireworks over the bay start at 22:00.",
     "Night buses run until 22:00", "Night bus services now end at 22:00 on weekdays."),
    ("time", "Polls open at 7.00", "Polling stations open at 7.00 and close at eight.",
     "Bakery strike begins at 7.00", "Bakers stop work at 7.00 in protest at flour prices."),
    ("number", "Museum shows 300 paintings",
     "The museum opened an exhibition of 300 paintings by local artists.",
     "Airline cancels 300 flights", "Strikes forced the airline to cancel 300 flights."),
    ("number", "Hospital hires 120 nurses", "The regional hospital hired 120 nurses this week.",
     "School district buys 120 buses", "The school district bought 120 electric buses."),
    ("number", "Police seize 45 kilograms of cocaine",
     "Customs officers found 45 kilograms of cocaine in a container.",
     "Choir of 45 singers tours Japan", "A choir of 45 singers leaves for a tour of Japan."),
    ("number", "Heatwave: 38 degrees in the city",
     "Thermometers showed 38 degrees in the city centre.",
     "38 new flats for students", "Builders handed over 38 new flats for students."),
    ("number", "2,500 runners in the night race", "A record 2,500 runners joined the night race.",
     "Library lends 2,500 e-books", "The library lent 2,500 e-books in its first month online."),
    ("number", "Port handles 1.5 million containers",
     "The port handled 1.5 million containers last year.",
     "Lottery jackpot reaches 1.5 million",
     "Nobody won the lottery, so the jackpot rose to 1.5 million."),
    ("link", "Ferry timetable changes for winter", f"The ferry runs less often in winter. {URL}",
     "Vaccination centre extends its hours", f"Evening appointments start next week. {URL}"),
    ("link", "City hall gets solar panels", f"Solar panels now cover the city hall roof. {URL}",
     "Cycle lane closed for repairs", f"The riverside cycle lane is closed until spring. {URL}"),
    ("link", "Water prices unchanged", f"Water bills stay the same next year. {URL}",
     "Choir seeks new members", f"The cathedral choir is looking for tenors. {URL}"),
    ("boilerplate", "Snow clearing plan approved",
     "Councillors approved the winter snow plan. Continue reading. Share this. Subscribe.",
     "New cafe opens in the station",
     "A cafe opened in the main station hall. Continue reading. Share this. Subscribe."),
    ("markup", '<div class="caption"> Storm damages roofs',
     "Strong winds damaged roofs across the coast overnight.",
     '<div class="caption"> Chess club wins title',
     "The local chess club won the national team title."),
    ("markup", "Theatre &amp; opera season opens <br/>",
     "The theatre and opera house opened its season with a premiere.",
     "Tennis courts &amp; pitches renovated <br/>",
     "The sports park renovated its tennis courts and football pitches."),
    ("markup", '<img src="/static/logo-wide.png" alt="" width="120"> Pothole repairs begin',
     "Road crews started repairing potholes on the main roads.",
     '<img src="/static/logo-wide.png" alt="" width="120"> Lost dog found after a week',
     "A dog missing for a week was found safe in the woods."),
]  # fmt: skip

TOGETHER = [
    ("Council approves riverside tram line",
     "The city council approved the riverside tram line after a four-hour debate. The line links "
     "the central station with the northern harbour district.",
     "Councillors back harbour tram",
     "Councillors voted for the riverside tram line to the northern harbour district. The line "
     "starts at the central station, the council said."),
    ("Museum returns stolen Vermeer to Dublin gallery",
     "The museum handed the stolen Vermeer painting back to the Dublin gallery on loan since 1986.",
     "Dublin gallery gets its Vermeer back",
     "A Vermeer stolen in 1986 is back in the Dublin gallery after the museum returned it."),
    # Different lengths: a full report and a two-line brief.
    ("Storm halts Gdynia–Karlskrona ferries for two days",
     "Ferries between Gdynia and Karlskrona will not sail until Thursday as a storm with winds of "
     "up to 120 km/h crosses the southern Baltic, the operator said. Passengers booked on the "
     "cancelled crossings can rebook free of charge or ask for a refund. The port of Gdynia said "
     "cargo ships were also waiting outside the harbour. Forecasters expect the storm to ease by "
     "Wednesday evening, and the first ferry should leave Karlskrona on Thursday morning.",
     "Baltic storm stops Karlskrona ferry",
     "The storm over the Baltic stopped the Gdynia–Karlskrona ferries; the operator offers "
     "rebooking or refunds."),
    ("Portugal rail strike stops trains nationwide",
     "A strike by train drivers stopped most rail services across Portugal, the rail operator "
     "said. Commuter lines around Lisbon and Porto ran a minimum service.",
     "Portuguese train drivers walk out",
     "Train drivers in Portugal went on strike, halting rail services across the country; only a "
     "minimum service ran on the Lisbon and Porto commuter lines."),
    # Headlines alone, reworded.
    ("Apple recalls 40,000 chargers over overheating", "",
     "Overheating Apple chargers recalled", ""),
    ("Kenya's central bank cuts its key rate to 9 percent", "",
     "Kenya central bank lowers key interest rate", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("shared", "t1", "x1", "t2", "x2"), APART, ids=[f"{p[0]}-{i}" for i, p in enumerate(APART)]
)
def test_sharing_only_what_does_not_identify_an_event_is_not_a_story(
    shared: str, t1: str, x1: str, t2: str, x2: str
) -> None:
    assert group([Item(t1, x1), Item(t2, x2)]) == [[0], [1]], f"joined on a shared {shared}"


def test_the_table_has_thirty_pairs() -> None:
    assert len(APART) >= 30


@pytest.mark.parametrize(("t1", "x1", "t2", "x2"), TOGETHER)
def test_one_event_in_other_words_is_one_story(t1: str, x1: str, t2: str, x2: str) -> None:
    assert group([Item(t1, x1), Item(t2, x2)]) == [[0, 1]]


# One company's newsletter: every article names Microsoft, Poland and AI. The short ones each
# report their own event and must not vanish into the long one.
ONE_SUBJECT = [
    ("Microsoft adds Polish to Copilot voice",
     "Microsoft said Copilot's voice mode now understands and speaks Polish. The company said "
     "Polish users can talk to the assistant in Word, Outlook and Teams from this week, and that "
     "more languages of central Europe will follow next year. The feature uses the same speech "
     "models as the English version and runs in Microsoft's data centres in the European Union. "
     "Microsoft said it trained the Polish voice with recordings from volunteers across Poland."),
    ("OpenAI opens an office in Warsaw",
     "OpenAI opened its first office in Poland, in Warsaw, with a team of forty. The company said "
     "the office will work with Polish banks and public institutions on AI projects."),
    ("Microsoft to build a data centre near Kraków",
     "Microsoft will build a data centre near Kraków, its second in Poland, to serve cloud and AI "
     "customers in the region."),
    ("Microsoft hires 300 engineers in Gdańsk",
     "Microsoft is hiring 300 engineers for a new development centre in Gdańsk that will work on "
     "Azure networking."),
    ("Polish post office moves parcel tracking to Azure",
     "Poczta Polska is moving its parcel tracking to Microsoft's Azure cloud, the post office "
     "said on its website."),
]  # fmt: skip


def test_short_articles_of_one_subject_keep_their_own_stories() -> None:
    items = [Item(t, x) for t, x in ONE_SUBJECT]
    assert group(items) == [[i] for i in range(len(items))]
