//! Watch messages: create / cancel / progress requests, responses and their events.

use super::kv::*;
use super::{ConvertError, ConvertResult};
use crate::etcdserverpb as pb;
use crate::etcdserverpb::watch_create_request::FilterType;
use crate::etcdserverpb::watch_request::RequestUnion;
use crate::mvccpb;
use crate::mvccpb::event::EventType as PbEventType;
use detcd_core::kv::{Event, EventType};
use detcd_core::watch::*;

fn filter_from_proto(value: i32) -> ConvertResult<WatchFilter> {
    match FilterType::try_from(value) {
        Ok(FilterType::Noput) => Ok(WatchFilter::NoPut),
        Ok(FilterType::Nodelete) => Ok(WatchFilter::NoDelete),
        Err(_) => Err(ConvertError::unknown_enum("watch_create_request.filters", value)),
    }
}

fn filter_to_proto(filter: WatchFilter) -> i32 {
    match filter {
        WatchFilter::NoPut => FilterType::Noput as i32,
        WatchFilter::NoDelete => FilterType::Nodelete as i32,
    }
}

pub fn watch_create_request_from_proto(
    r: pb::WatchCreateRequest,
) -> ConvertResult<WatchCreateRequest> {
    Ok(WatchCreateRequest {
        key: r.key,
        range_end: r.range_end,
        start_revision: r.start_revision,
        progress_notify: r.progress_notify,
        filters: r.filters.into_iter().map(filter_from_proto).collect::<Result<_, _>>()?,
        prev_kv: r.prev_kv,
        watch_id: r.watch_id,
        fragment: r.fragment,
    })
}

pub fn watch_create_request_to_proto(r: WatchCreateRequest) -> pb::WatchCreateRequest {
    pb::WatchCreateRequest {
        key: r.key,
        range_end: r.range_end,
        start_revision: r.start_revision,
        progress_notify: r.progress_notify,
        filters: r.filters.into_iter().map(filter_to_proto).collect(),
        prev_kv: r.prev_kv,
        watch_id: r.watch_id,
        fragment: r.fragment,
    }
}

pub fn watch_request_from_proto(r: pb::WatchRequest) -> ConvertResult<WatchRequest> {
    match r.request_union.ok_or(ConvertError::missing("watch_request.request_union"))? {
        RequestUnion::CreateRequest(create) => {
            Ok(WatchRequest::Create(watch_create_request_from_proto(create)?))
        }
        RequestUnion::CancelRequest(cancel) => {
            Ok(WatchRequest::Cancel(WatchCancelRequest { watch_id: cancel.watch_id }))
        }
        RequestUnion::ProgressRequest(_) => Ok(WatchRequest::Progress(WatchProgressRequest {})),
    }
}

pub fn watch_request_to_proto(r: WatchRequest) -> pb::WatchRequest {
    let union = match r {
        WatchRequest::Create(create) => {
            RequestUnion::CreateRequest(watch_create_request_to_proto(create))
        }
        WatchRequest::Cancel(cancel) => {
            RequestUnion::CancelRequest(pb::WatchCancelRequest { watch_id: cancel.watch_id })
        }
        WatchRequest::Progress(_) => RequestUnion::ProgressRequest(pb::WatchProgressRequest {}),
    };
    pb::WatchRequest { request_union: Some(union) }
}

pub fn event_to_proto(event: Event) -> mvccpb::Event {
    let kind = match event.kind {
        EventType::Put => PbEventType::Put,
        EventType::Delete => PbEventType::Delete,
    };
    mvccpb::Event {
        r#type: kind as i32,
        kv: Some(key_value_to_proto(event.kv)),
        prev_kv: event.prev_kv.map(key_value_to_proto),
    }
}

pub fn event_from_proto(event: mvccpb::Event) -> ConvertResult<Event> {
    let kind = match PbEventType::try_from(event.r#type) {
        Ok(PbEventType::Put) => EventType::Put,
        Ok(PbEventType::Delete) => EventType::Delete,
        Err(_) => return Err(ConvertError::unknown_enum("event.type", event.r#type)),
    };
    Ok(Event {
        kind,
        kv: key_value_from_proto(event.kv.ok_or(ConvertError::missing("event.kv"))?),
        prev_kv: event.prev_kv.map(key_value_from_proto),
    })
}

pub fn watch_response_to_proto(r: WatchResponse) -> pb::WatchResponse {
    pb::WatchResponse {
        header: header_to_proto(r.header),
        watch_id: r.watch_id,
        created: r.created,
        canceled: r.canceled,
        compact_revision: r.compact_revision,
        cancel_reason: r.cancel_reason,
        fragment: r.fragment,
        events: r.events.into_iter().map(event_to_proto).collect(),
    }
}

pub fn watch_response_from_proto(r: pb::WatchResponse) -> ConvertResult<WatchResponse> {
    Ok(WatchResponse {
        header: header_from_proto(r.header),
        watch_id: r.watch_id,
        created: r.created,
        canceled: r.canceled,
        compact_revision: r.compact_revision,
        cancel_reason: r.cancel_reason,
        fragment: r.fragment,
        events: r.events.into_iter().map(event_from_proto).collect::<Result<_, _>>()?,
    })
}
